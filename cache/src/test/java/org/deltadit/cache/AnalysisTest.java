package org.deltadit.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deltadit.cache.analysis.DeltaSimilarity;
import org.deltadit.cache.analysis.Fourier;
import org.deltadit.engine.Tensor;
import org.junit.jupiter.api.Test;

/** The analyses on inputs whose answer is known. */
class AnalysisTest {

    @Test
    void fourierProfileOfAGaussianBlobHasTheClosedForm() {
        // g = exp(−r²/2s²) has spectrum ∝ exp(−2π²s²(u² + v²)/N²): its relative log magnitude is exactly
        // −2π²s²(u² + v²)/N², so each ring's mean is that of (u² + v²) over the ring.
        int n = 32;
        double s = 2;
        float[] img = new float[n * n];
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) {
                int dy = Math.min(y, n - y), dx = Math.min(x, n - x); // centred on (0, 0), periodic
                img[y * n + x] = (float) Math.exp(-(dx * dx + dy * dy) / (2 * s * s));
            }
        }
        double[] p = Fourier.radialProfile(img, n, n);
        for (int r = 0; r <= 8; r++) {
            double sum = 0;
            int count = 0;
            for (int u = -n / 2 + 1; u <= n / 2; u++) {
                for (int v = -n / 2 + 1; v <= n / 2; v++) {
                    if (Math.round(Math.sqrt(u * u + v * v)) == r) {
                        sum += u * u + v * v;
                        count++;
                    }
                }
            }
            double expect = -2 * Math.PI * Math.PI * s * s * (sum / count) / (n * n);
            assertEquals(expect, p[r], 0.02, "ring " + r);
        }
        float[] flat = new float[n * n];
        java.util.Arrays.fill(flat, 0.5f);
        double[] c = Fourier.radialProfile(flat, n, n);
        assertEquals(0, c[0], 1e-12, "a constant image is all DC: log(max/max) = 0");
        assertTrue(c[3] < -20, "and nothing elsewhere: " + c[3]);
    }

    @Test
    void deltaSimilarityIsOneForRepeatedChangesAndMinusOneForReversed() {
        DeltaSimilarity s = new DeltaSimilarity(2, 3);
        Tensor in = Tensor.of(new float[] {0, 0, 0, 0}, 2, 2), up = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), down = Tensor.of(new float[] {-1, -2, -3, -4}, 2, 2);
        for (int step = 1; step <= 3; step++) {
            s.afterBlock(step, 0, in, up);                       // block 0 always changes the same way
            s.afterBlock(step, 1, in, step % 2 == 0 ? down : up); // block 1 flips every step
        }
        double[][] m = s.matrix();
        assertEquals(1, m[0][0], 1e-12);
        assertEquals(1, m[0][1], 1e-12);
        assertEquals(-1, m[1][0], 1e-12);
        assertEquals(-1, m[1][1], 1e-12);
    }
}
