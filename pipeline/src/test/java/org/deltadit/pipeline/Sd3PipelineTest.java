package org.deltadit.pipeline;

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
 * SD3 end to end on a tiny diffusers repository assembled from the fixtures, against
 * tools/reference/sd3_pipeline_reference.py: two prompts and the empty negative prompt through CLIP-L,
 * bigG and T5, three flow-matching steps with guidance 4, the 16-channel-style VAE's scaling and shift.
 */
public class Sd3PipelineTest {
    static final String FIX = "../dit-model/src/test/resources/fixtures/";
    @TempDir Path dir;

    /** The tiny SD3 repository in {@code dir}/sd3 (the paths are relative to a module folder). */
    public static Path tinyRepository(Path dir) throws IOException {
        Path repo = dir.resolve("sd3");
        for (String sub : new String[] {"transformer", "text_encoder", "text_encoder_2", "text_encoder_3", "tokenizer", "tokenizer_2", "tokenizer_3", "vae", "scheduler"}) {
            Files.createDirectories(repo.resolve(sub));
        }
        Files.writeString(repo.resolve("model_index.json"), "{\"_class_name\": \"StableDiffusion3Pipeline\"}");
        SafetensorsWriter.copy(Path.of(FIX + "tiny_sd3.safetensors"), repo.resolve("transformer/diffusion_pytorch_model.safetensors"), k -> k.startsWith("w."), "w.");
        Files.copy(Path.of(FIX + "tiny_sd3_config.json"), repo.resolve("transformer/config.json"));
        String clip = "{\"hidden_size\": 16, \"intermediate_size\": 32, \"num_attention_heads\": 2, \"num_hidden_layers\": 2, \"projection_dim\": 16, \"hidden_act\": \"%s\"}";
        SafetensorsWriter.copy(Path.of(FIX + "tiny_sd3_text.safetensors"), repo.resolve("text_encoder/model.safetensors"), k -> k.startsWith("l."), "l.");
        Files.writeString(repo.resolve("text_encoder/config.json"), clip.formatted("quick_gelu"));
        SafetensorsWriter.copy(Path.of(FIX + "tiny_sd3_text.safetensors"), repo.resolve("text_encoder_2/model.safetensors"), k -> k.startsWith("g."), "g.");
        Files.writeString(repo.resolve("text_encoder_2/config.json"), clip.formatted("gelu"));
        for (String t : new String[] {"tokenizer", "tokenizer_2"}) {
            for (String f : new String[] {"vocab.json", "merges.txt"}) Files.copy(Path.of(FIX + "tiny_clip/" + f), repo.resolve(t).resolve(f));
        }
        Files.writeString(repo.resolve("tokenizer_2/tokenizer_config.json"), "{\"pad_token\": \"!\"}");
        SafetensorsWriter.copy(Path.of(FIX + "tiny_t5_encoder.safetensors"), repo.resolve("text_encoder_3/model.safetensors"),
                k -> k.startsWith("shared.") || k.startsWith("encoder."), "");
        Files.writeString(repo.resolve("text_encoder_3/config.json"), "{\"d_model\": 32, \"num_heads\": 4, \"d_kv\": 8, \"d_ff\": 48, \"num_layers\": 2, "
                + "\"relative_attention_num_buckets\": 32, \"relative_attention_max_distance\": 128, \"feed_forward_proj\": \"gated-gelu\"}");
        Files.copy(Path.of(FIX + "tiny_spiece.model"), repo.resolve("tokenizer_3/spiece.model"));
        SafetensorsWriter.copy(Path.of(FIX + "tiny_vae.safetensors"), repo.resolve("vae/diffusion_pytorch_model.safetensors"), k -> k.startsWith("w."), "w.");
        Files.writeString(repo.resolve("vae/config.json"), "{\"block_out_channels\": [16, 32], \"layers_per_block\": 1, \"norm_num_groups\": 8, \"latent_channels\": 4, "
                + "\"out_channels\": 3, \"scaling_factor\": 1.5305, \"shift_factor\": 0.0609}");
        Files.writeString(repo.resolve("scheduler/scheduler_config.json"), "{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\", \"shift\": 3.0}");
        return repo;
    }

    @Test
    void promptsToImagesAsThePyTorchPipeline() throws IOException {
        Path repo = tinyRepository(dir);
        try (Pipeline p = Pipeline.open(ModelSpec.builder().model(repo).threads(2).build()); StateDict sd = Safetensors.open(Path.of(FIX + "tiny_sd3_pipeline.safetensors"))) {
            assertTrue(p.textConditioned());
            assertEquals("flow-euler", p.defaultSampler());
            // the encoders: every row of the context and the pooled text (prompts, then the empty negative prompt)
            var cfg = (org.deltadit.weights.Sd3Config) p.config();
            Sd3Text.Encoded e = Sd3Text.encode(repo, java.util.List.of("a photo of a Cat", "the sea at night", "", ""), cfg, p.backend());
            close(sd.tensor("context"), e.context(), 1e-4, "context (CLIP-L, bigG, T5)");
            close(sd.tensor("pooled"), e.pooled(), 1e-4, "pooled text");
            // the denoising loop from the reference's own context: no encoder rounding carried
            var net = new org.deltadit.dit.Sd3Model(cfg, org.deltadit.weights.KeyMap.canonical(
                    org.deltadit.weights.Safetensors.open(repo.resolve("transformer/diffusion_pytorch_model.safetensors")), cfg.format()), p.backend());
            var den = new org.deltadit.cache.GuidedDenoiser<>(net, org.deltadit.cache.Conditioner.sd3(net, sd.tensor("pooled"), sd.tensor("context")), 2, 4.0, 4, null, null);
            close(sd.tensor("latents"), new org.deltadit.sampler.FlowMatchEulerSampler(3, 3.0).sample(sd.tensor("noise"), den, n -> null, null), 1e-4, "latents from the reference context");
            // the whole pipeline
            GenerationResult g = p.generate(GenerationRequest.builder().prompts("a photo of a Cat", "the sea at night").noise(sd.tensor("noise"))
                    .steps(3).cfg(4.0).keepLatents(true).build(), null);
            close(sd.tensor("latents"), g.latents(), 1e-4, "latents through the pipeline");
            Tensor image = sd.tensor("image");
            int w = image.dim(3), h = image.dim(2), worst = 0;
            for (int i = 0; i < 2; i++) {
                Image im = g.images().get(i);
                assertEquals(w, im.width());
                for (int c = 0; c < 3; c++) {
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < w; x++) {
                            float v = Math.min(1, Math.max(0, (image.get(i, c, y, x) + 1) / 2)) * 255;
                            worst = Math.max(worst, (int) Math.ceil(Math.abs(im.sample(x, y, c) - v)));
                        }
                    }
                }
            }
            assertTrue(worst <= 1, "8-bit images within a level of the reference's, worst " + worst);
            assertEquals(g.macsUncached(), org.deltadit.cache.Plan.uncachedMacs(p.config(), 3, 2, 2));
            // Δ-DiT runs on the joint state and saves MACs; the images change
            GenerationResult cached = p.generate(GenerationRequest.builder().prompts("a photo of a Cat", "the sea at night").noise(sd.tensor("noise"))
                    .steps(3).cfg(4.0).keepLatents(true).cache(new CacheSpec.Named("delta-dit", 2, 2, 2, null, null, false, null)).build(), null);
            assertTrue(cached.speedup() > 1.2, "speedup " + cached.speedup());
            assertTrue(Compare.relativeMaxError(g.latents().toFloatArray(), cached.latents().toFloatArray()) > 1e-3);
            assertEquals("sampler", assertThrows(InvalidParameter.class, () -> p.validate(GenerationRequest.builder().prompts("x").sampler("ddim").build())).parameter());
            assertEquals("classes", assertThrows(InvalidParameter.class, () -> p.validate(GenerationRequest.builder().classes(1).build())).parameter());
        }
    }

    @Test
    void withoutT5TheT5TokensAreZerosAndAMissingPartIsOneClearError() throws IOException {
        Path repo = tinyRepository(dir);
        try (StateDict sd = Safetensors.open(Path.of(FIX + "tiny_sd3_pipeline.safetensors"))) {
            GenerationRequest r = GenerationRequest.builder().prompts("a photo of a Cat").noise(sd.tensor("noise").slice(0, 0, 1).contiguous()).steps(2).cfg(4.0)
                    .decode(false).keepLatents(true).build();
            Tensor withT5;
            try (Pipeline p = Pipeline.open(ModelSpec.builder().model(repo).threads(2).build())) {
                withT5 = p.generate(r, null).latents();
            }
            delete(repo.resolve("text_encoder_3"));
            try (Pipeline p = Pipeline.open(ModelSpec.builder().model(repo).threads(2).build())) {
                Tensor without = p.generate(r, null).latents();
                assertTrue(Compare.relativeMaxError(withT5.toFloatArray(), without.toFloatArray()) > 1e-3, "the T5 tokens count");
            }
            delete(repo.resolve("tokenizer_2"));
            try (Pipeline p = Pipeline.open(ModelSpec.builder().model(repo).threads(2).build())) {
                InvalidParameter e = assertThrows(InvalidParameter.class, () -> p.generate(r, null));
                assertTrue(e.getMessage().contains("the repository needs text_encoder_2/ and tokenizer_2/"), e.getMessage());
            }
        }
    }

    static void close(Tensor want, Tensor got, double tol, String what) {
        assertEquals(want.shapeString(), got.shapeString(), what);
        double rel = Compare.relativeMaxError(want.toFloatArray(), got.toFloatArray());
        assertTrue(rel <= tol, what + ": max error " + rel + " × max |expected|");
    }

    static void delete(Path folder) throws IOException {
        try (var files = Files.walk(folder)) {
            for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(f);
        }
    }
}
