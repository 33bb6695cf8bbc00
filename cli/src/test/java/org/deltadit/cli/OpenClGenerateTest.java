package org.deltadit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.deltadit.engine.opencl.OpenClDevices;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * dit generate --device opencl reproduces the cpu backend's samples (PoCL in CI): the demo model
 * (pixel space, 28 blocks, Δ-DiT) and the tiny latent DiT through its VAE. Tolerance: 1e-4 × the
 * largest value, as for the model fixtures (the device sums in another order).
 */
class OpenClGenerateTest {
    @TempDir Path dir;

    @BeforeAll
    static void needsADevice() {
        if (!OpenClDevices.list().isEmpty()) return;
        if ("true".equals(System.getenv("CI"))) throw new AssertionError("no OpenCL device: CI must install pocl-opencl-icd (.ci/run does)");
        System.err.println("OpenClGenerateTest: no OpenCL device here: skipped");
        Assumptions.abort("no OpenCL device");
    }

    /** The device under test; a subclass names another and hides {@link #needsADevice()}. */
    String device() { return "opencl"; }

    float[] latents(String device, String... args) {
        Path out = dir.resolve(device + ".safetensors");
        String[] all = java.util.Arrays.copyOf(args, args.length + 4);
        all[args.length] = "--device";
        all[args.length + 1] = device;
        all[args.length + 2] = "--save-latent";
        all[args.length + 3] = out.toString();
        MainTest.Run r = MainTest.run(all);
        assertEquals(0, r.status(), r.err());
        try (StateDict sd = Safetensors.open(out)) {
            return sd.tensor("latent").toFloatArray();
        }
    }

    static void close(float[] want, float[] got, String what) {
        double rel = org.deltadit.engine.Compare.relativeMaxError(want, got);
        assertTrue(rel <= 1e-4, what + ": max error " + rel + " × max |expected|");
    }

    @Test
    void theDemoModelGivesTheCpuSamples() {
        String[] args = {"generate", "--model", "../models/demo", "--class", "3,1", "--steps", "4", "--cache", "delta-dit", "--out", dir.resolve("x.png").toString()};
        close(latents("cpu", args), latents(device(), args), "demo model, Δ-DiT, 4 steps");
    }

    @Test
    void aLatentDitThroughItsVaeGivesTheCpuSamples() throws Exception {
        Path vae = java.nio.file.Files.createDirectories(dir.resolve("vae"));
        org.deltadit.weights.SafetensorsWriter.copy(Path.of("../dit-model/src/test/resources/fixtures/tiny_vae.safetensors"), vae.resolve("diffusion_pytorch_model.safetensors"),
                k -> k.startsWith("w."), "w.");
        java.nio.file.Files.writeString(vae.resolve("config.json"), "{\"block_out_channels\": [16, 32], \"layers_per_block\": 1, \"norm_num_groups\": 8, \"latent_channels\": 4, \"out_channels\": 3}");
        String[] args = {"generate", "--model", MainTest.FIX + "tiny_dit.pt", "--heads", "2", "--vae", vae.toString(), "--class", "1,5", "--steps", "3",
            "--out", dir.resolve("y.png").toString()};
        close(latents("cpu", args), latents(device(), args), "tiny DiT");
    }
}
