package org.deltadit.spark;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Every {@code dit-spark} command line in the project's Markdown uses flags its subcommand has (the cli module's check). */
class DocumentedCommandsTest {
    @Test
    void everyDocumentedDitSparkLineUsesFlagsItsSubcommandHas() throws IOException {
        CommandLine root = new CommandLine(new DitSpark());
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Path f : org.deltadit.cli.DocumentedCommandsTest.markdown()) {
            for (String line : org.deltadit.cli.DocumentedCommandsTest.commands(Files.readString(f), "dit-spark")) {
                checked++;
                String p = org.deltadit.cli.DocumentedCommandsTest.check(root, line);
                if (!p.isEmpty()) problems.add(f + ": dit-spark " + line + "  →  " + p);
            }
        }
        assertTrue(checked >= 5, "found only " + checked + " command lines");
        assertTrue(problems.isEmpty(), problems.size() + " documented command lines do not parse:\n" + String.join("\n", problems));
    }
}
