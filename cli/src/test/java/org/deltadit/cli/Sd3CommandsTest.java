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

/** What the commands do with SD3 today: dit info describes a transformer, dit plan counts its MACs, generation is one clear line. */
class Sd3CommandsTest {
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
        MainTest.Run gen = run("generate", "--model", repo.toString(), "--prompt", "a cat", "--steps", "2");
        assertEquals(2, gen.status());
        assertTrue(gen.err().strip().endsWith("is an SD3 MMDiT: SD3 generation is not built yet (dit info describes it)"), gen.err());
        assertEquals(1, gen.err().lines().count(), gen.err());
    }
}
