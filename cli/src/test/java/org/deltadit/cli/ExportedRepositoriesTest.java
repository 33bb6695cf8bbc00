package org.deltadit.cli;

import static org.deltadit.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deltadit.engine.DType;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.deltadit.weights.TensorEntry;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * dit quantize and dit convert on the tiny PixArt-α, SD3 and SD 1.5 repositories: the denoiser's folder written, the
 * rest linked, and the result generating latents near the original's from the same seed (not the same ones).
 */
class ExportedRepositoriesTest {
    @TempDir Path dir;

    private Path repository(String kind) throws IOException {
        return switch (kind) {
            case "pixart" -> PixArtGenerateTest.tinyRepository(dir);
            case "sd3" -> org.deltadit.pipeline.Sd3PipelineTest.tinyRepository(dir);
            case "sd15" -> org.deltadit.pipeline.Sd15PipelineTest.tinyRepository(dir);
            default -> throw new IllegalArgumentException(kind);
        };
    }

    private float[] latent(Path model, String name) throws IOException {
        Path l = dir.resolve(name + ".safetensors");
        MainTest.Run g = run("generate", "--model", model.toString(), "--prompt", "a small cat", "--steps", "3", "--seed", "11", "--threads", "2",
                "--save-latent", l.toString(), "--out", dir.resolve(name + ".png").toString());
        assertEquals(0, g.status(), name + ": " + g.err());
        return MainTest.savedLatent(l);
    }

    private static double psnr(float[] a, float[] b) {
        double mse = 0, peak = 0;
        for (int i = 0; i < a.length; i++) {
            mse += (a[i] - b[i]) * (a[i] - b[i]);
            peak = Math.max(peak, Math.abs(a[i]));
        }
        return 10 * Math.log10(peak * peak / (mse / a.length));
    }

    @ParameterizedTest
    @ValueSource(strings = {"pixart", "sd3", "sd15"})
    void quantizedAndConvertedRepositoriesGenerate(String kind) throws IOException {
        Path repo = repository(kind), q = dir.resolve(kind + "-int8"), bf = dir.resolve(kind + "-bf16");
        String denoiser = kind.equals("sd15") ? "unet" : "transformer";
        MainTest.Run qr = run("quantize", "--model", repo.toString(), "--out", q.toString());
        assertEquals(0, qr.status(), qr.err());
        MainTest.Run cr = run("convert", "--model", repo.toString(), "--out", bf.toString(), "--dtype", "bf16");
        assertEquals(0, cr.status(), cr.err());
        try (StateDict sd = Safetensors.open(q.resolve(denoiser).resolve("diffusion_pytorch_model.safetensors"))) {
            assertTrue(sd.quantizedCount() > 0, kind + ": some block linears INT8");
        }
        try (StateDict sd = Safetensors.open(bf.resolve(denoiser).resolve("diffusion_pytorch_model.safetensors"))) {
            for (TensorEntry e : sd.entries()) assertEquals(DType.BF16, e.tensor().dtype(), kind + ": " + e.name());
        }
        try (var parts = Files.list(repo)) {
            for (Path p : parts.toList()) {
                String name = p.getFileName().toString();
                if (name.equals(denoiser) || name.equals("model_index.json")) continue;
                assertTrue(Files.isSymbolicLink(q.resolve(name)) && Files.isSymbolicLink(bf.resolve(name)), kind + ": " + name + " linked");
            }
        }
        float[] full = latent(repo, kind), int8 = latent(q, kind + "-int8"), half = latent(bf, kind + "-bf16");
        double pq = psnr(full, int8), pb = psnr(full, half);
        assertTrue(pq > 20 && pq < 200, kind + ": INT8 latent " + pq + " dB from the original's");
        assertTrue(pb > 20 && pb < 200, kind + ": BF16 latent " + pb + " dB from the original's");
    }
}
