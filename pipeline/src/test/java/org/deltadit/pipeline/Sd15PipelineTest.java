package org.deltadit.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deltadit.cache.CacheSpec;
import org.deltadit.engine.Compare;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.SafetensorsWriter;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SD 1.x end to end on a tiny diffusers repository assembled from the fixtures, against
 * tools/reference/sd15_pipeline_reference.py: CLIP-L's final states for two prompts and the empty negative
 * prompt, PNDM (skip_prk_steps) and DDIM with SD 1.5's scheduler config (scaled_linear, leading + offset 1, ᾱ_0 at the end), guidance
 * 7.5, the VAE; uncached, with Δ-Cache over the U-Net's blocks [1, 7) and with DeepCache over them.
 */
public class Sd15PipelineTest {
    static final String FIX = "../dit-model/src/test/resources/fixtures/";
    @TempDir Path dir;

    /** The tiny SD 1.x repository in {@code dir}/sd15 (paths relative to a module folder). */
    public static Path tinyRepository(Path dir) throws IOException {
        Path repo = dir.resolve("sd15");
        for (String sub : new String[] {"unet", "text_encoder", "tokenizer", "vae", "scheduler"}) Files.createDirectories(repo.resolve(sub));
        Files.writeString(repo.resolve("model_index.json"), "{\"_class_name\": \"StableDiffusionPipeline\"}");
        SafetensorsWriter.copy(Path.of(FIX + "tiny_unet.safetensors"), repo.resolve("unet/diffusion_pytorch_model.safetensors"), k -> k.startsWith("w."), "w.");
        Files.copy(Path.of(FIX + "tiny_unet_config.json"), repo.resolve("unet/config.json"));
        SafetensorsWriter.copy(Path.of(FIX + "tiny_sd3_text.safetensors"), repo.resolve("text_encoder/model.safetensors"), k -> k.startsWith("l.text_model."), "l.");
        Files.writeString(repo.resolve("text_encoder/config.json"), "{\"hidden_size\": 16, \"intermediate_size\": 32, \"num_attention_heads\": 2, \"num_hidden_layers\": 2, \"hidden_act\": \"quick_gelu\"}");
        for (String f : new String[] {"vocab.json", "merges.txt"}) Files.copy(Path.of(FIX + "tiny_clip/" + f), repo.resolve("tokenizer").resolve(f));
        SafetensorsWriter.copy(Path.of(FIX + "tiny_vae.safetensors"), repo.resolve("vae/diffusion_pytorch_model.safetensors"), k -> k.startsWith("w."), "w.");
        Files.writeString(repo.resolve("vae/config.json"), "{\"block_out_channels\": [16, 32], \"layers_per_block\": 1, \"norm_num_groups\": 8, \"latent_channels\": 4, \"out_channels\": 3}");
        Files.writeString(repo.resolve("scheduler/scheduler_config.json"), "{\"_class_name\": \"PNDMScheduler\", \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, "
                + "\"beta_end\": 0.012, \"steps_offset\": 1, \"set_alpha_to_one\": false, \"skip_prk_steps\": true}");
        return repo;
    }

    @Test
    void promptsToImagesAsThePyTorchPipelineUncachedWithDeltaCacheAndDeepCache() throws IOException {
        Path repo = tinyRepository(dir);
        try (Pipeline p = Pipeline.open(ModelSpec.builder().model(repo).threads(2).build()); StateDict sd = Safetensors.open(Path.of(FIX + "tiny_sd15_pipeline.safetensors"))) {
            assertEquals("pndm", p.defaultSampler());
            GenerationResult plms = p.generate(GenerationRequest.builder().prompts("a photo of a cat", "the sea at night").noise(sd.tensor("noise")).steps(4)
                    .decode(false).keepLatents(true).build(), null);
            assertArrayEquals(sd.tensor("timesteps_pndm").toFloatArray(), plms.timesteps(), "PNDM: 4 steps are 5 evaluations, the second timestep twice");
            assertEquals(5, plms.steps());
            Sd3PipelineTest.close(sd.tensor("latents_pndm"), plms.latents(), 1e-4, "PNDM latents");
            GenerationResult dpm = p.generate(GenerationRequest.builder().prompts("a photo of a cat", "the sea at night").noise(sd.tensor("noise")).steps(4)
                    .sampler("dpm-solver++").decode(false).keepLatents(true).build(), null);
            assertArrayEquals(sd.tensor("timesteps_dpmpp").toFloatArray(), dpm.timesteps());
            Sd3PipelineTest.close(sd.tensor("latents_dpmpp"), dpm.latents(), 1e-4, "DPM-Solver++ latents");
            GenerationRequest.Builder r = GenerationRequest.builder().prompts("a photo of a cat", "the sea at night").noise(sd.tensor("noise")).steps(4).sampler("ddim").keepLatents(true);
            GenerationResult g = p.generate(r.build(), null);
            assertEquals(7.5, g.cfg());
            assertArrayEquals(sd.tensor("timesteps").toFloatArray(), g.timesteps(), "leading spacing with steps_offset 1");
            Sd3PipelineTest.close(sd.tensor("latents"), g.latents(), 1e-4, "latents");
            Tensor image = sd.tensor("image");
            int worst = 0;
            for (int i = 0; i < 2; i++) {
                Image im = g.images().get(i);
                for (int c = 0; c < 3; c++) {
                    for (int y = 0; y < image.dim(2); y++) {
                        for (int x = 0; x < image.dim(3); x++) {
                            float v = Math.min(1, Math.max(0, (image.get(i, c, y, x) + 1) / 2)) * 255;
                            worst = Math.max(worst, (int) Math.ceil(Math.abs(im.sample(x, y, c) - v)));
                        }
                    }
                }
            }
            assertTrue(worst <= 1, "8-bit images within a level of the reference's, worst " + worst);
            GenerationResult cached = p.generate(r.cache(new CacheSpec.Named("delta-cache", null, 2, null, "1:7", null, false, null)).build(), null);
            Sd3PipelineTest.close(sd.tensor("latents_delta_cache"), cached.latents(), 1e-4, "latents with Δ-Cache [1, 7)");
            assertTrue(cached.speedup() > 1.1, "speedup " + cached.speedup());
            GenerationResult deep = p.generate(r.cache(new CacheSpec.Named("deepcache", null, 2, null, "branch0", null, false, null)).build(), null);
            assertEquals("deepcache [1,7) N=2", deep.plan().policy().describe(), "branch 0 of the tiny U-Net");
            Sd3PipelineTest.close(sd.tensor("latents_deepcache"), deep.latents(), 1e-4, "latents with DeepCache, branch 0");
            assertEquals(cached.macs(), deep.macs(), "the same span skipped");
            assertTrue(Compare.relativeMaxError(g.latents().toFloatArray(), deep.latents().toFloatArray()) > 1e-3, "DeepCache changes the images");
            assertTrue(Compare.relativeMaxError(cached.latents().toFloatArray(), deep.latents().toFloatArray()) > 1e-3, "and differently from Δ-Cache");
            InvalidParameter unbalanced = assertThrows(InvalidParameter.class, () -> p.validate(GenerationRequest.builder().prompts("x")
                    .cache(new CacheSpec.Named("delta-cache", null, null, null, "0:2", null, false, null)).build()));
            assertEquals("range", unbalanced.parameter());
            assertEquals("cache", assertThrows(InvalidParameter.class, () -> p.validate(GenerationRequest.builder().prompts("x").cache(CacheSpec.Named.of("delta-dit")).build())).parameter());
            assertEquals("sampler", assertThrows(InvalidParameter.class, () -> p.validate(GenerationRequest.builder().prompts("x").sampler("euler").build())).parameter());
            assertEquals("spacing", assertThrows(InvalidParameter.class, () -> p.validate(GenerationRequest.builder().prompts("x").spacing("trailing").build())).parameter(), "pndm spaces itself");
        }
    }

    @Test
    void aTokenizerOfAnotherVocabularyIsOneClearError() throws IOException {
        Path repo = tinyRepository(dir);
        Path vocab = repo.resolve("tokenizer/vocab.json");
        String v = Files.readString(vocab);
        Files.writeString(vocab, v.substring(0, v.lastIndexOf('}')) + ", \"zzz</w>\": 49407}");
        try (Pipeline p = Pipeline.open(ModelSpec.builder().model(repo).threads(2).build())) {
            InvalidParameter e = assertThrows(InvalidParameter.class, () -> p.generate(GenerationRequest.builder().prompts("a cat").steps(1).build(), null));
            assertEquals("model", e.parameter());
            assertTrue(e.getMessage().contains("49408 token ids for an encoder of 570 (they do not belong together)"), e.getMessage());
        }
    }
}
