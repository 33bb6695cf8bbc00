package org.deltadit.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Every {@code dit} command line in the project's Markdown names a subcommand that exists and only flags that
 * subcommand has: a user pastes them. (Values are not checked: they name files this machine does not have.)
 * The spark module checks {@code dit-spark}'s lines with the same methods.
 */
public class DocumentedCommandsTest {
    public static List<Path> markdown() throws IOException {
        Path root = Path.of("..");
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root, 3)) {
            s.filter(p -> p.toString().endsWith(".md")).filter(p -> !p.toString().contains("target") && !p.toString().contains("node_modules")
                    && !p.toString().contains("/.")).forEach(files::add);
        }
        return files;
    }

    /**
     * The command lines of {@code program} in one file, without the program: code lines "./program …" (joined over
     * trailing backslashes), then inline spans `program …` or `./program …`.
     */
    public static List<String> commands(String text, String program) {
        List<String> out = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        String start = "./" + program + " ";
        for (int i = 0; i < lines.length; i++) {
            String l = lines[i].strip();
            int at = l.indexOf(start);
            if (at < 0 || l.startsWith("`") || l.contains("`" + start)) continue;
            StringBuilder b = new StringBuilder(l.substring(at + start.length()));
            while (b.toString().endsWith("\\") && i + 1 < lines.length) {
                b.setLength(b.length() - 1);
                b.append(' ').append(lines[++i].strip());
            }
            out.add(b.toString());
        }
        Matcher m = Pattern.compile("`(?:\\./)?" + Pattern.quote(program) + " ([^`]+)`").matcher(text);
        while (m.find()) out.add(m.group(1));
        return out;
    }

    /** What is wrong with one command line ("" if nothing). */
    public static String check(CommandLine root, String line) {
        String cmd = line.replaceAll("\\s#.*$", "").replaceAll("\\s[|>&;].*$", "");
        String[] tokens = cmd.strip().split("\\s+");
        CommandLine c = root;
        int i = 0;
        while (i < tokens.length && c.getSubcommands().containsKey(tokens[i])) c = c.getSubcommands().get(tokens[i++]);
        if (c == root) {
            if (tokens.length == 0 || tokens[0].startsWith("-") || tokens[0].equals("…")) return "";
            // "generate|compare" in prose: each alternative must exist
            for (String alt : tokens[0].split("\\|")) if (!root.getSubcommands().containsKey(alt)) return "no subcommand '" + alt + "'";
            return "";
        }
        List<String> bad = new ArrayList<>();
        for (; i < tokens.length; i++) {
            String t = tokens[i];
            if (!t.startsWith("--") || t.equals("--")) continue;
            String name = t.contains("=") ? t.substring(0, t.indexOf('=')) : t;
            name = name.replaceAll("[`.,;:)…]+$", "");
            if (name.equals("--") || name.contains("|")) continue;
            if (c.getCommandSpec().findOption(name) == null) bad.add(name);
        }
        return bad.isEmpty() ? "" : c.getCommandName() + " has no " + String.join(", ", bad);
    }

    @Test
    void everyDocumentedCommandLineUsesFlagsItsSubcommandHas() throws IOException {
        CommandLine root = new CommandLine(new Main());
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Path f : markdown()) {
            for (String line : commands(Files.readString(f), "dit")) {
                checked++;
                String p = check(root, line);
                if (!p.isEmpty()) problems.add(f + ": dit " + line + "  →  " + p);
            }
        }
        assertTrue(checked > 50, "found only " + checked + " command lines");
        assertTrue(problems.isEmpty(), problems.size() + " documented command lines do not parse:\n" + String.join("\n", problems));
    }

    @Test
    void theCheckCatchesAnUnknownFlagAndSubcommand() {
        CommandLine root = new CommandLine(new Main());
        assertTrue(check(root, "generate --class 3 --out x.png").isEmpty());
        assertTrue(check(root, "bench compare --count 2 --no-such-flag 1").contains("--no-such-flag"));
        assertTrue(check(root, "info --model x --vae y").contains("--vae"));
        assertTrue(check(root, "frobnicate --model x").contains("frobnicate"));
        assertTrue(check(root, "generate|plan").isEmpty() && check(root, "generate|plot").contains("plot"));
        assertTrue(commands("```bash\n./dit generate --class 3 \\\n  --cache delta-dit   # note\n./dit-spark generate\n```\nsee `dit plan --arch DiT-XL/2`", "dit").size() == 2);
    }
}
