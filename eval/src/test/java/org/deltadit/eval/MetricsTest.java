package org.deltadit.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** IS, FID and the .npz statistics against hand computations and closed forms. */
class MetricsTest {
    @TempDir Path dir;

    @Test
    void inceptionScoreOfKnownLogitsIsTheHandComputedOne() {
        // two parts of two images; part 0: p = (1, 0) and (0, 1) exactly → KL mean = log 2 → score 2;
        // part 1: both images p = (½, ½) → KL 0 → score 1. Mean 1.5, std 0.5 (population).
        InceptionScore is = new InceptionScore(4, 2, 2);
        is.add(0, new float[] {100, -100});
        is.add(1, new float[] {-100, 100});
        is.add(2, new float[] {3, 3});
        is.add(3, new float[] {-1, -1});
        double[] s = is.score();
        assertEquals(1.5, s[0], 1e-12);
        assertEquals(0.5, s[1], 1e-12);
        // the same images scored in two halves elsewhere and merged give the same score
        InceptionScore a = new InceptionScore(4, 2, 2), b = new InceptionScore(4, 2, 2);
        a.add(2, new float[] {3, 3});
        a.add(0, new float[] {100, -100});
        b.add(1, new float[] {-100, 100});
        b.add(3, new float[] {-1, -1});
        assertArrayEquals(s, a.merge(b).score(), 1e-15);
        assertThrows(IllegalStateException.class, () -> new InceptionScore(4, 2, 2).score(), "a part with missing images");
        InceptionScore ten = new InceptionScore(10, 3, 2); // parts start at 0, 3, 6 (k·10/3)
        assertEquals(0, ten.split(2));
        assertEquals(1, ten.split(3));
        assertEquals(2, ten.split(9));
    }

    @Test
    void fidOfDiagonalGaussiansIsTheClosedForm() {
        // ‖μ₁−μ₂‖² + Σ (σ₁ + σ₂ − 2√(σ₁σ₂)) for diagonal covariances
        double[] m1 = {0, 1, 2}, m2 = {1, 1, 0}, v1 = {1, 4, 9}, v2 = {4, 1, 1};
        double want = 1 + 0 + 4;
        for (int i = 0; i < 3; i++) want += v1[i] + v2[i] - 2 * Math.sqrt(v1[i] * v2[i]);
        double got = Fid.distance(new Fid.Stats(m1, diag(v1), 0), new Fid.Stats(m2, diag(v2), 0));
        assertEquals(want, got, 1e-9);
    }

    static double[][] diag(double[] v) {
        double[][] m = new double[v.length][v.length];
        for (int i = 0; i < v.length; i++) m[i][i] = v[i];
        return m;
    }

    @Test
    void momentsMergedInAnyOrderGiveTheStatisticsOfTheWhole() {
        float[][] f = {{1, 2, 3}, {2, 0, 1}, {5, 1, 1}, {0, 0, 4}};
        Fid.Stats whole = Fid.stats(f);
        Fid.Moments a = new Fid.Moments(3), b = new Fid.Moments(3);
        a.add(f[3]);
        a.add(f[0]);
        b.add(f[2]);
        b.add(f[1]);
        Fid.Stats merged = b.merge(a).stats();
        assertArrayEquals(whole.mu(), merged.mu(), 0);
        for (int i = 0; i < 3; i++) assertArrayEquals(whole.sigma()[i], merged.sigma()[i], 0);
        // sigma[0][1] by hand: the covariance of (1, 2, 5, 0) and (2, 0, 1, 0)
        assertEquals((1 - 2) * (2 - 0.75) / 3 + (2 - 2) * (0 - 0.75) / 3 + (5 - 2) * (1 - 0.75) / 3 + (0 - 2) * (0 - 0.75) / 3, merged.sigma()[0][1], 1e-12);
    }

    @Test
    void npzStatisticsAsNumPyWritesThemAndOursRoundTrip() throws URISyntaxException, IOException {
        Fid.Stats numpy = Npz.readStats(InceptionTest.fixture("tiny_fid_stats.npz")); // float32 mu, float64 sigma, deflated
        assertEquals(128, numpy.mu().length);
        assertEquals(128, numpy.sigma()[5].length);
        assertEquals(numpy.sigma()[3][7], numpy.sigma()[7][3], 0, "symmetric");
        Path ours = dir.resolve("stats.npz");
        Npz.writeStats(ours, numpy);
        Fid.Stats back = Npz.readStats(ours);
        assertArrayEquals(numpy.mu(), back.mu(), 0);
        for (int i = 0; i < 128; i++) assertArrayEquals(numpy.sigma()[i], back.sigma()[i], 0);
        Path bad = Files.writeString(dir.resolve("bad.npz"), "not a zip");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npz.readStats(bad));
        assertTrue(e.getMessage().startsWith("--fid-stats: " + bad + ": not a .npz file"), e.getMessage());
    }
}
