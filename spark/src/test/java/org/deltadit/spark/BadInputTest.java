package org.deltadit.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deltadit.cli.MainTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input is one line and status 2, before any Spark work: no session is started and nothing is written. */
class BadInputTest {
    @TempDir Path dir;

    @Test
    void eachBadInputIsOneLineBeforeAnyWork() throws IOException {
        Path out = dir.resolve("out"), file = Files.writeString(dir.resolve("a-file"), "x");
        String demo = SparkTests.DEMO.toString();
        Map<List<String>, String> cases = new LinkedHashMap<>();
        cases.put(List.of("generate", "--class", "12", "--steps", "2"), "dit-spark: --class: 12 outside [0, 10)");
        cases.put(List.of("generate", "--class", "3-1"), "dit-spark: --class: '3-1' (class labels N, lists N,M and ranges A-B with 0 ≤ A ≤ B)");
        cases.put(List.of("generate", "--model", dir.resolve("nope").toString()), "dit-spark: --model: " + dir.resolve("nope").toAbsolutePath() + ": no such file or folder");
        cases.put(List.of("generate", "--out", file.resolve("sub").toString()), null);
        cases.put(List.of("generate", "--out", file.toString()), "dit-spark: --out: " + file + " is a file, not a folder");
        cases.put(List.of("generate", "--master", "bogus://x", "--steps", "2"), null);
        cases.put(List.of("generate", "--per-class", "2"), "dit-spark: --per-class: needs --class");
        cases.put(List.of("generate", "--class", "0-3", "--count", "3"), "dit-spark: --count: 3 is fewer than the 4 classes listed");
        cases.put(List.of("generate", "--prompts", dir.resolve("p.txt").toString(), "--model", demo), "dit-spark: --prompts: " + dir.resolve("p.txt") + ": no such file");
        cases.put(List.of("generate", "--sampler", "heun"), null);
        cases.put(List.of("generate", "--partitions", "0", "--steps", "2"), "dit-spark: --partitions: 0 (must be at least 1)");
        cases.put(List.of("generate", "--cache", "delta-dit", "--cached-blocks", "40", "--steps", "4"), null);
        cases.put(List.of("compare", "--rows", "full,sideways"), null);
        cases.put(List.of("compare", "--count", "0"), "dit-spark: --count: 0 (must be at least 1)");
        cases.put(List.of("compare", "--bogus"), null);
        cases.put(List.of("compare", "--classifier", dir.toString(), "--steps", "2", "--count", "1"), "dit-spark: --classifier: " + dir
                + ": no classifier.safetensors and fid_stats.safetensors there, or DiT (depth 28, hidden 96, 4 heads, patch 4) does not make 1×32×32 digits");
        cases.put(List.of("compare", "--bootstrap", "3", "--steps", "2", "--count", "1"), "dit-spark: --bootstrap: 3 resamples (at least 20; 200 is typical)");
        cases.put(List.of("generate", "--clip-sample", "0", "--steps", "2"), "dit-spark: --clip-sample: 0.0 (a range above 0)");
        cases.put(List.of("generate", "--sampler", "euler", "--clip-sample", "1", "--steps", "2"), "dit-spark: --clip-sample: applies to ddpm, ddim and dpm-solver++, not euler");
        cases.put(List.of("compare", "--sampler", "euler", "--clip-sample", "1", "--steps", "2", "--count", "1"), "dit-spark: --clip-sample: applies to ddpm, ddim and dpm-solver++, not euler");
        cases.put(List.of("generate", "--dynamic-thresholding", "0.9,0.5", "--steps", "2"), "dit-spark: --dynamic-thresholding: sample max value 0.5 (1..1e6; s is held to at least 1)");
        cases.put(List.of("compare", "--dynamic-thresholding", "0.9", "--clip-sample", "1", "--steps", "2", "--count", "1"), "dit-spark: --dynamic-thresholding and --clip-sample exclude each other (thresholding with max 1 is the clamp to ±1)");
        for (Map.Entry<List<String>, String> c : cases.entrySet()) {
            List<String> args = new java.util.ArrayList<>(c.getKey());
            if (!args.contains("--model")) args.addAll(List.of("--model", demo));
            if (args.get(0).equals("generate") && !args.contains("--out")) args.addAll(List.of("--out", out.toString()));
            MainTest.Run r = SparkTests.run(args.toArray(new String[0]));
            assertEquals(2, r.status(), c.getKey() + ": " + r.err());
            assertEquals(1, r.err().lines().count(), c.getKey() + ": one line: " + r.err());
            assertTrue(r.err().startsWith("dit-spark: "), r.err());
            if (c.getValue() != null) assertEquals(c.getValue(), r.err().strip(), c.getKey().toString());
            assertFalse(Files.exists(out) && Files.list(out).findAny().isPresent(), c.getKey() + ": nothing written");
        }
    }
}
