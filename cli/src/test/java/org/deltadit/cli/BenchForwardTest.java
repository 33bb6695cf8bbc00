package org.deltadit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code dit bench forward} on cpu: one JSON line with the figures and their limits, the same line appended to the history. */
class BenchForwardTest {
    @Test
    void printsTheRunBesideThePeakAndTheKernelsCeiling(@TempDir Path dir) throws Exception {
        Path history = dir.resolve("history.jsonl");
        MainTest.Run r = MainTest.run("bench", "forward", "--arch", "DiT-S/2", "--image-size", "32", "--batch", "1", "--seconds", "0.3", "--threads", "2",
                "--history", history.toString());
        assertEquals(0, r.status(), r.err());
        String line = r.out().strip();
        for (String field : List.of("\"what\":\"forward\"", "\"arch\":\"DiT-S/2\"", "\"tokens\":4", "\"blocks_gflops\":", "\"peak_gflops\":", "\"percent_of_peak\":",
                "\"kernel_in_cache_gflops\":", "\"kernel_streamed_gflops\":", "\"peak_rss_bytes\":")) {
            assertTrue(line.contains(field), field + " in " + line);
        }
        assertTrue(line.startsWith("{") && line.endsWith("}") && !line.contains("NaN"), line);
        assertEquals(List.of(line), Files.readAllLines(history), "the history holds the printed line");
        assertTrue(r.err().contains(history.toString()), "says where the history went: " + r.err());
    }
}
