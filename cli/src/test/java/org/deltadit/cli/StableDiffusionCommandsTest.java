package org.deltadit.cli;

import static org.deltadit.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deltadit.weights.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SD3 and SD 1.x through the commands: dit info and dit plan, dit generate on whole (tiny) repositories, with caches. */
class StableDiffusionCommandsTest {
    @TempDir Path dir;

    /** A diffusers repository holding only the tiny MMDiT of the dit-model fixtures. */
    Path tinyRepository() throws IOException {
        Path repo = Files.createDirectories(dir.resolve("sd3").resolve("transformer"));
        String fix = "../dit-model/src/test/resources/fixtures/";
        SafetensorsWriter.copy(Path.of(fix + "tiny_sd3.safetensors"), repo.resolve("diffusion_pytorch_model.safetensors"), k -> k.startsWith("w."), "w.");
        Files.copy(Path.of(fix + "tiny_sd3_config.json"), repo.resolve("config.json"));
        Files.writeString(repo.getParent().resolve("model_index.json"), "{\"_class_name\": \"StableDiffusion3Pipeline\"}");
        return repo.getParent();
    }

    @Test
    void infoPlanAndGenerate() throws IOException {
        Path repo = tinyRepository();
        MainTest.Run info = run("info", "--model", repo.toString());
        assertEquals(0, info.status(), info.err());
        assertTrue(info.out().contains("Stable Diffusion 3 MMDiT, diffusers layout"), info.out());
        assertTrue(info.out().contains("SD3 MMDiT (depth 3, hidden 32, patch 2)") && info.out().contains("3 joint blocks"), info.out());
        MainTest.Run plan = run("plan", "--model", repo.toString(), "--cache", "delta-dit", "--steps", "8", "--cached-blocks", "2");
        assertEquals(0, plan.status(), plan.err());
        assertTrue(plan.out().contains("flow matching 8 steps") && plan.out().contains("speedup"), plan.out());
        MainTest.Run paper = run("plan", "--arch", "SD3-medium", "--steps", "28");
        assertTrue(paper.out().contains("total: 168.331 T MACs"), paper.out());
        MainTest.Run gen = run("generate", "--model", repo.toString(), "--prompt", "a cat", "--steps", "2", "--out", dir.resolve("x.png").toString());
        assertEquals(2, gen.status());
        assertEquals("dit: this model makes 4-channel latents: give --vae (e.g. sd-vae-ft-ema) or --save-latent", gen.err().strip(), "a transformer alone: no VAE");
    }

    @Test
    void generateOnATinyRepositoryWithDeltaDit() throws IOException {
        Path repo = org.deltadit.pipeline.Sd3PipelineTest.tinyRepository(dir);
        Path out = dir.resolve("sd3.png");
        MainTest.Run r = run("generate", "--model", repo.toString(), "--prompt", "a photo of a cat", "--prompt", "the sea", "--steps", "4",
                "--cache", "delta-dit", "--cached-blocks", "2", "--threads", "2", "--out", out.toString(), "--json");
        assertEquals(0, r.status(), r.err());
        assertTrue(Files.size(out) > 0);
        assertTrue(r.out().contains("\"sampler\":\"flow-euler\"") && r.out().contains("\"cfg\":7.0"), "SD3's defaults: " + r.out());
        MainTest.Run bad = run("generate", "--model", repo.toString(), "--prompt", "a cat", "--sampler", "ddim", "--out", dir.resolve("y.png").toString());
        assertEquals(2, bad.status());
        assertTrue(bad.err().startsWith("dit: --sampler: SD3 predicts a flow velocity"), bad.err());
        MainTest.Run big = run("generate", "--model", repo.toString(), "--prompt", "a cat", "--image-size", "512", "--out", dir.resolve("z.png").toString());
        assertEquals(2, big.status());
        assertEquals("dit: --image-size: a latent of 256² cells needs 128 positions a side; this model has 12", big.err().strip());
    }

    @Test
    void sd15PlansCountTheUNet() {
        MainTest.Run full = run("plan", "--arch", "SD1.5", "--steps", "20");
        assertEquals(0, full.status(), full.err());
        assertTrue(full.out().contains("total: 13.544 T MACs"), full.out());
        MainTest.Run deep = run("plan", "--arch", "SD1.5", "--cache", "deepcache", "--interval", "2", "--branch", "0", "--json");
        assertTrue(deep.out().contains("\"span\":[1,25]") && deep.out().contains("\"speedup\":1.71"), deep.out());
        MainTest.Run delta = run("plan", "--arch", "SD1.5", "--cache", "delta-cache", "--unet-span", "1:25");
        assertTrue(delta.out().contains("total: 7.917 T MACs"), delta.out());
        MainTest.Run bad = run("plan", "--arch", "SD1.5", "--cache", "delta-cache", "--unet-span", "1:4");
        assertEquals(2, bad.status());
        assertEquals("dit: --unet-span: 1:4 leaves 3 skips for the layers after it", bad.err().strip());
        MainTest.Run notUnet = run("plan", "--arch", "DiT-XL/2", "--cache", "deepcache", "--branch", "1");
        assertEquals(2, notUnet.status());
        assertEquals("dit: --cache: deepcache caches a U-Net's deep branch; DiT-XL/2 is not a U-Net", notUnet.err().strip());
    }

    @Test
    void sd15InfoAndGenerateWithDeltaCache() throws IOException {
        Path repo = org.deltadit.pipeline.Sd15PipelineTest.tinyRepository(dir);
        MainTest.Run info = run("info", "--model", repo.toString());
        assertEquals(0, info.status(), info.err());
        assertTrue(info.out().contains("Stable Diffusion U-Net, diffusers layout") && info.out().contains("9 blocks between conv_in and conv_out"), info.out());
        Path out = dir.resolve("sd15.png");
        MainTest.Run r = run("generate", "--model", repo.toString(), "--prompt", "a photo of a cat", "--steps", "4", "--cache", "delta-cache", "--range", "1:7",
                "--threads", "2", "--out", out.toString(), "--json");
        assertEquals(0, r.status(), r.err());
        assertTrue(Files.size(out) > 0 && r.out().contains("\"sampler\":\"pndm\"") && r.out().contains("\"cfg\":7.5"), r.out());
        MainTest.Run deep = run("generate", "--model", repo.toString(), "--prompt", "a photo of a cat", "--steps", "4", "--cache", "deepcache", "--branch", "0",
                "--threads", "2", "--out", dir.resolve("deep.png").toString(), "--json");
        assertEquals(0, deep.status(), deep.err());
        assertTrue(deep.out().contains("deepcache [1,7) N=2"), deep.out());
        MainTest.Run bad = run("generate", "--model", repo.toString(), "--prompt", "a cat", "--cache", "delta-cache", "--range", "0:2", "--out", dir.resolve("b.png").toString());
        assertEquals(2, bad.status());
        assertEquals("dit: --range: 0:2 leaves 2 skips for the layers after it", bad.err().strip());
    }
}
