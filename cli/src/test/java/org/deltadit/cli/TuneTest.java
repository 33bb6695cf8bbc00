package org.deltadit.cli;

import static org.deltadit.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deltadit.cache.CachePolicy;
import org.deltadit.pipeline.PolicyFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dit tune on the tiny digit DiT: a search within the budget, a Pareto front, a policy file that dit generate takes. */
class TuneTest {
    @TempDir Path dir;

    @Test
    void searchesWritesAPolicyFileAndGenerateUsesIt() throws IOException {
        Path model = CompareTest.tinyDigitModel(Files.createDirectories(dir.resolve("m")));
        Path out = dir.resolve("tuned.json");
        Path plot = dir.resolve("pareto.png");
        MainTest.Run r = run("tune", "--model", model.toString(), "--speedup", "1.5", "--calibration", "2", "--steps", "6", "--threads", "2", "--out", out.toString(), "--json",
                "--plot", plot.toString(), "--dynamic-thresholding", "0.995,1.5");
        assertEquals(0, r.status(), r.err());
        java.awt.image.BufferedImage png = javax.imageio.ImageIO.read(plot.toFile());
        assertEquals(1000, png.getWidth());
        assertEquals(600, png.getHeight());
        long chosen = r.out().lines().filter(l -> l.contains("\"chosen\":true")).count();
        assertEquals(1, chosen, r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.contains("\"pareto\":true")), r.out());
        assertTrue(r.out().lines().filter(l -> l.contains("\"chosen\":true")).allMatch(l -> l.contains("\"within_budget\":true")), r.out());
        assertTrue(r.out().contains("fewer steps: T = 4 (reference)"), "the fewer-steps reference row: " + r.out());
        // TeaCache's polynomial fitted on the calibration run: steps 2..6 against the step before, 2 images × 2 guidance branches
        assertTrue(r.err().contains("TeaCache's polynomial, fitted to 20 (signal, residual) changes: ["), r.err());
        assertEquals(4, r.out().lines().filter(l -> l.contains("\"candidate\":\"teacache calibrated ")).count(), r.out());
        assertTrue(r.out().lines().count() >= 20, "Δ-DiT, Δ-Cache, forecast, fbcache and teacache candidates: " + r.out());
        CachePolicy p = PolicyFile.read(out).resolve(6, org.deltadit.pipeline.Pipeline.config(org.deltadit.pipeline.ModelSpec.builder().model(model).build()), 2);
        assertTrue(!(p instanceof CachePolicy.None), p.describe());
        assertTrue(Files.readString(out).contains("guidance 4.0, x0 thresholded 0.995,1.5:"), "the note names the sampling the policy was tuned for: " + Files.readString(out));
        MainTest.Run g = run("generate", "--model", model.toString(), "--class", "1", "--steps", "6", "--cache-config", out.toString(), "--out", dir.resolve("x.png").toString());
        assertEquals(0, g.status(), g.err());
    }

    /** With the digit CNN beside the model, every candidate also gets its images' feature distance and label agreement with full compute's. */
    @Test
    void anEvaluationNetworkAddsFeatureColumns() throws IOException {
        Path model = CompareTest.tinyDigitModel(Files.createDirectories(dir.resolve("m")));
        for (String f : new String[] {"classifier.safetensors", "fid_stats.safetensors"}) Files.copy(Path.of("../models/demo").resolve(f), model.resolve(f));
        MainTest.Run r = run("tune", "--model", model.toString(), "--speedup", "1.5", "--calibration", "3", "--steps", "6", "--threads", "2", "--json");
        assertEquals(0, r.status(), r.err());
        for (String line : r.out().lines().toList()) {
            double d = Double.parseDouble(line.replaceAll(".*\"feature_distance\":([-0-9.eE+]+),.*", "$1"));
            double agree = Double.parseDouble(line.replaceAll(".*\"label_agreement\":([0-9.]+),.*", "$1"));
            assertTrue(d >= 0 && Double.isFinite(d), line);
            assertTrue(agree == 0 || Math.abs(agree * 3 - Math.round(agree * 3)) < 1e-3, "a share of 3 images: " + line);
        }
        MainTest.Run t = run("tune", "--model", model.toString(), "--speedup", "1.5", "--calibration", "2", "--steps", "6", "--threads", "2");
        assertTrue(t.out().contains("| CNN feature distance | same label |"), t.out());
        MainTest.Run none = run("tune", "--model", model.toString(), "--speedup", "1.5", "--calibration", "2", "--steps", "6", "--classifier", dir.toString());
        assertEquals(2, none.status(), none.err());
        assertTrue(none.err().startsWith("dit: --classifier: " + dir + ": no classifier.safetensors and fid_stats.safetensors there"), none.err());
    }

    @Test
    void featureScoresByHand() {
        org.deltadit.engine.Tensor full = org.deltadit.engine.Tensor.of(new float[] {3, 4, 1, 0}, 2, 2), same = org.deltadit.engine.Tensor.of(new float[] {3, 4, 1, 0}, 2, 2);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new double[] {0, 1}, TuneCommand.featureScores(full, new int[] {7, 2}, same, new int[] {7, 2}), 0);
        // image 0: ‖(3,4) − (3,1)‖² / 25 = 9/25; image 1: ‖(1,0) − (0,0)‖² / 1 = 1; mean 0.68; labels agree on one of two
        org.deltadit.engine.Tensor other = org.deltadit.engine.Tensor.of(new float[] {3, 1, 0, 0}, 2, 2);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new double[] {0.68, 0.5}, TuneCommand.featureScores(full, new int[] {7, 2}, other, new int[] {7, 3}), 1e-12);
    }

    @Test
    void badBudgetsAreOneLine() throws IOException {
        String demo = "../models/demo";
        Path aFile = Files.writeString(dir.resolve("a-file"), "x");
        for (String[] args : new String[][] {{"tune", "--model", demo}, {"tune", "--model", demo, "--speedup", "2", "--macs", "1e9"}, {"tune", "--model", demo, "--speedup", "0.5"},
                {"tune", "--model", demo, "--speedup", "1.5", "--calibration", "0"}, {"tune", "--model", demo, "--speedup", "1.5", "--out", aFile.resolve("x.json").toString()},
                {"tune", "--model", demo, "--speedup", "1.5", "--plot", dir.resolve("p.jpg").toString()}, {"tune", "--model", demo, "--speedup", "1.5", "--plot", aFile.resolve("p.png").toString()},
                {"tune", "--model", demo, "--speedup", "1.5", "--dynamic-thresholding", "0.9,0.5"},
                {"tune", "--model", demo, "--speedup", "1.5", "--dynamic-thresholding", "0.9", "--clip-sample", "1"}, {"tune", "--model", demo, "--speedup", "1.5", "--clip-sample", "0"}}) {
            MainTest.Run r = run(args);
            assertEquals(2, r.status(), String.join(" ", args) + ": " + r.err());
            assertEquals(1, r.err().lines().count(), r.err());
        }
    }
}
