package org.deltadit.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.deltadit.engine.Tensor;
import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Test;

/** Quality metrics against tools/reference/quality_reference.py (PyTorch) and against closed forms. */
class QualityTest {

    static StateDict fixture() throws URISyntaxException {
        return Safetensors.open(Paths.get(QualityTest.class.getResource("/fixtures/quality.safetensors").toURI()));
    }

    @Test
    void classifierMatchesPyTorch() throws URISyntaxException {
        try (StateDict sd = fixture()) {
            Map<String, Tensor> w = new LinkedHashMap<>();
            for (String k : sd.keys()) if (k.startsWith("w.")) w.put(k.substring(2), sd.tensor(k));
            DigitClassifier net = new DigitClassifier(w, new CpuBackend(2));
            Tensor digits = sd.tensor("digits");
            assertClose(sd.tensor("features").toFloatArray(), net.features(digits).toFloatArray(), "features");
            assertClose(sd.tensor("logits").toFloatArray(), net.logits(digits).toFloatArray(), "logits");
        }
    }

    static void assertClose(float[] e, float[] a, String what) {
        double rel = org.deltadit.engine.Compare.relativeMaxError(e, a);
        assertTrue(rel <= 1e-4, what + ": max error " + rel + " × max |expected|");
    }

    @Test
    void psnrAndSsimMatchPyTorch() throws URISyntaxException {
        try (StateDict sd = fixture()) {
            Tensor a = sd.tensor("a"), b = sd.tensor("b");
            float[] psnr = sd.tensor("psnr").toFloatArray(), ssim = sd.tensor("ssim").toFloatArray();
            for (int i = 0; i < 3; i++) {
                float[] x = a.select(0, i).toFloatArray(), y = b.select(0, i).toFloatArray();
                assertEquals(psnr[i], ImageMetrics.psnr(x, y), 1e-4 * Math.abs(psnr[i]), "psnr " + i);
                assertEquals(ssim[i], ImageMetrics.ssim(x, y, 1, 32, 32), 1e-5, "ssim " + i);
                assertEquals(1.0, ImageMetrics.ssim(x, x, 1, 32, 32), 1e-12, "ssim of an image with itself");
                assertEquals(Double.POSITIVE_INFINITY, ImageMetrics.psnr(x, x));
            }
            // a constant offset d in [0, 1] units gives MSE d²: PSNR = −20·log10(d)
            float[] z = new float[64], off = new float[64];
            java.util.Arrays.fill(off, 0.2f); // 0.1 in [0, 1]
            assertEquals(20, ImageMetrics.psnr(z, off), 1e-4);
        }
    }

    @Test
    void fidOfASetAgainstItselfIsZeroAndGaussiansHaveTheClosedForm() {
        SplittableRandom r = new SplittableRandom(7);
        float[][] f = new float[500][8];
        for (float[] row : f) for (int i = 0; i < 8; i++) row[i] = (float) (r.nextGaussian() * (1 + i));
        Fid.Stats s = Fid.stats(f);
        assertEquals(0, Fid.distance(s, s), 1e-8);
        // diagonal covariances: FID = |μ1 − μ2|² + Σ (σ1 + σ2 − 2√(σ1σ2)) per dimension
        double[][] s1 = new double[3][3], s2 = new double[3][3];
        double[] v1 = {1, 4, 9}, v2 = {4, 1, 16};
        for (int i = 0; i < 3; i++) { s1[i][i] = v1[i]; s2[i][i] = v2[i]; }
        Fid.Stats a = new Fid.Stats(new double[] {0, 0, 0}, s1, 2), b = new Fid.Stats(new double[] {1, 2, 0}, s2, 2);
        double expect = 1 + 4;
        for (int i = 0; i < 3; i++) expect += v1[i] + v2[i] - 2 * Math.sqrt(v1[i] * v2[i]);
        assertEquals(expect, Fid.distance(a, b), 1e-9);
    }
}
