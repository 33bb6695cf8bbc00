package org.deltadit.cli;

import static org.deltadit.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;
import javax.imageio.ImageIO;
import org.deltadit.engine.Tensor;
import org.deltadit.weights.Safetensors;
import org.deltadit.weights.SafetensorsWriter;
import org.deltadit.weights.StateDict;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * dit generate and dit encode on a tiny PixArt-α diffusers repository built from the test fixtures:
 * the tiny transformer (diffusers names), the tiny T5 encoder, the tiny SentencePiece model and the
 * tiny factor-2 VAE (8×8 latents → 16×16 PNGs).
 */
public class PixArtGenerateTest {
    static final String DIT_FIX = "../dit-model/src/test/resources/fixtures/"; // relative to a module folder: cli/ or spark/
    @TempDir Path dir;
    Path repo;

    @BeforeEach
    void tinyRepository() throws IOException { repo = tinyRepository(dir); }

    /** The tiny PixArt-α diffusers repository in {@code dir}/pixart. */
    public static Path tinyRepository(Path dir) throws IOException {
        Path repo = dir.resolve("pixart");
        for (String sub : new String[] {"transformer", "text_encoder", "tokenizer", "vae"}) Files.createDirectories(repo.resolve(sub));
        Files.writeString(repo.resolve("model_index.json"), "{\"_class_name\": \"PixArtAlphaPipeline\"}");
        SafetensorsWriter.copy(Path.of(DIT_FIX + "tiny_pixart_diffusers.safetensors"), repo.resolve("transformer/diffusion_pytorch_model.safetensors"), k -> true, "");
        Files.writeString(repo.resolve("transformer/config.json"), "{\"sample_size\": 8, \"num_attention_heads\": 4, \"attention_head_dim\": 12, "
                + "\"interpolation_scale\": 2.0, \"num_layers\": 3, \"caption_channels\": 32, \"in_channels\": 4, \"patch_size\": 2, \"out_channels\": 8}");
        SafetensorsWriter.copy(Path.of(DIT_FIX + "tiny_t5_encoder.safetensors"), repo.resolve("text_encoder/model.safetensors"),
                k -> k.startsWith("shared.") || k.startsWith("encoder."), "");
        Files.writeString(repo.resolve("text_encoder/config.json"), "{\"d_model\": 32, \"num_heads\": 4, \"d_kv\": 8, \"d_ff\": 48, \"num_layers\": 2, "
                + "\"relative_attention_num_buckets\": 32, \"relative_attention_max_distance\": 128, \"feed_forward_proj\": \"gated-gelu\"}");
        Files.copy(Path.of(DIT_FIX + "tiny_spiece.model"), repo.resolve("tokenizer/spiece.model"));
        SafetensorsWriter.copy(Path.of(DIT_FIX + "tiny_vae.safetensors"), repo.resolve("vae/diffusion_pytorch_model.safetensors"), k -> k.startsWith("w."), "w.");
        Files.writeString(repo.resolve("vae/config.json"), "{\"block_out_channels\": [16, 32], \"layers_per_block\": 1, \"norm_num_groups\": 8, \"latent_channels\": 4, \"out_channels\": 3}");
        return repo;
    }

    @Test
    void promptToPngThroughTheRepositorysEncoderAndVae() throws IOException {
        Path png = dir.resolve("cat.png");
        MainTest.Run r = run("generate", "--model", repo.toString(), "--prompt", "a small cat sitting on a red chair", "--steps", "3", "--threads", "2",
                "--out", png.toString(), "--json");
        assertEquals(0, r.status(), r.err());
        assertEquals(16, ImageIO.read(png.toFile()).getWidth());
        assertTrue(r.out().contains("\"sampler\":\"dpm-solver++\"") && r.out().contains("\"cfg\":4.5"), "PixArt defaults: " + r.out());
        assertTrue(r.err().contains("encoding 2 captions with T5"), "the prompt and the empty negative prompt: " + r.err());
    }

    @Test
    void aRepeatedCaptionIsEncodedOnce() {
        MainTest.Run r = run("generate", "--model", repo.toString(), "--prompt", "blue sky", "--count", "3", "--steps", "1", "--threads", "2",
                "--save-latent", dir.resolve("r.safetensors").toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("encoding 2 captions"), "one caption and the negative prompt for three images: " + r.err());
    }

    @Test
    void encodedCaptionsGiveTheSameImagesAsPrompts() {
        Path emb = dir.resolve("caps.safetensors"), a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        MainTest.Run enc = run("encode", "--model", repo.toString(), "--prompt", "a photo of a horse", "--prompt", "blue sky", "--out", emb.toString());
        assertEquals(0, enc.status(), enc.err());
        try (StateDict sd = Safetensors.open(emb)) {
            assertArrayEquals(new int[] {2, 120, 32}, sd.tensor("embeds").shape());
            assertArrayEquals(new int[] {1, 120, 32}, sd.tensor("negative_embeds").shape());
        }
        String[] common = {"--model", repo.toString(), "--steps", "3", "--threads", "2", "--cache", "delta-dit", "--b", "1", "--cached-blocks", "2"};
        MainTest.Run p = run(concat(new String[] {"generate", "--prompt", "a photo of a horse", "--prompt", "blue sky", "--save-latent", a.toString()}, common));
        MainTest.Run e = run(concat(new String[] {"generate", "--text-embeddings", emb.toString(), "--count", "2", "--save-latent", b.toString()}, common));
        assertEquals(0, p.status(), p.err());
        assertEquals(0, e.status(), e.err());
        try (StateDict x = Safetensors.open(a); StateDict y = Safetensors.open(b)) {
            // The tiny random model's latents reach ~900, where one float ulp is 6e-5 and the threaded kernels
            // may round differently from run to run: compare relative to the largest value, as the parity tests do.
            float[] want = x.tensor("latent").toFloatArray(), got = y.tensor("latent").toFloatArray();
            double max = 0, err = 0;
            for (int i = 0; i < want.length; i++) {
                max = Math.max(max, Math.abs(want[i]));
                err = Math.max(err, Math.abs(want[i] - got[i]));
            }
            assertTrue(err <= 1e-5 * max, "encode then --text-embeddings vs --prompt: max error " + err + " of " + max);
        }
        assertTrue(p.err().contains("cache hits"), "Δ-DiT ran on PixArt: " + p.err());
    }

    @Test
    void tgateRunsAndCountsItsSavings() {
        MainTest.Run r = run("generate", "--model", repo.toString(), "--prompt", "a horse", "--steps", "4", "--threads", "2", "--cache", "tgate", "--gate-step", "2",
                "--out", dir.resolve("g.png").toString(), "--json");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("\"cache\":\"tgate m=2\"") && r.out().contains("\"policy\":\"gated\""), r.out());
        // a policy like the others: steps 3 and 4 served from the store, which holds 3 blocks' kept cross-attention (1 image, 16 tokens, hidden 48, F32)
        assertEquals(2, (int) CacheCommandsTest.field(r.out(), "cache_hits"), r.out());
        assertEquals(3 * 16 * 48 * 4, (int) CacheCommandsTest.field(r.out(), "cache_bytes"), r.out());
        MainTest.Run plan = run("plan", "--arch", "PixArt-XL/2", "--cache", "tgate", "--gate-step", "8");
        assertEquals(0, plan.status(), plan.err());
        assertTrue(plan.out().contains("gated"), plan.out());
        MainTest.Run dit = run("plan", "--arch", "DiT-XL/2", "--cache", "tgate");
        assertEquals(2, dit.status());
        assertTrue(dit.err().contains("needs a PixArt model"), dit.err());
    }

    @Test
    void anLcmRepositoryDefaultsToFourUnguidedLcmSteps() throws IOException {
        Files.createDirectories(repo.resolve("scheduler"));
        Files.writeString(repo.resolve("scheduler/scheduler_config.json"), "{\"_class_name\": \"LCMScheduler\", \"beta_start\": 0.0001, \"beta_end\": 0.02}");
        MainTest.Run r = run("generate", "--model", repo.toString(), "--prompt", "oil painting of the sea", "--threads", "2", "--out", dir.resolve("l.png").toString(), "--json");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("\"sampler\":\"lcm\",\"steps\":4,\"cfg\":1.0"), r.out());
        assertTrue(r.out().contains("\"timestep\":999") && r.out().contains("\"timestep\":259"), r.out());
        assertTrue(r.err().contains("encoding 1 caption "), "no guidance: no negative prompt: " + r.err());
    }

    @Test
    void originalLayoutUsesItsLearnedNullCaption() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("original"));
        SafetensorsWriter.copy(Path.of(DIT_FIX + "tiny_pixart_forward.safetensors"), folder.resolve("model.safetensors"), k -> k.startsWith("w."), "w.");
        Files.writeString(folder.resolve("config.json"), "{\"arch\": \"PixArtMS\", \"num_heads\": 4, \"input_size\": 8, \"lewei_scale\": 2.0, \"depth\": 3}");
        Path caps = dir.resolve("caps.safetensors");
        float[] mask = {1, 1, 1, 0, 0, 0};
        SafetensorsWriter.write(caps, Map.of("embeds", Tensor.of(new float[6 * 32], 1, 6, 32), "mask", Tensor.of(mask, 1, 6)), null);
        MainTest.Run r = run("generate", "--model", folder.toString(), "--text-embeddings", caps.toString(), "--steps", "2", "--threads", "2",
                "--save-latent", dir.resolve("o.safetensors").toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(!r.err().contains("T5"), "the null caption needs no encoder: " + r.err());
    }

    @Test
    void anOriginalCheckpointWithoutConfigTakesTheImageSize() throws IOException {
        // the .pth's pos_embed buffer [1, N, hidden] gives the native size: 16 tokens of patch 2 are 8x8 latents
        Path withPos = dir.resolve("PixArt-tiny-pos.safetensors");
        try (StateDict sd = Safetensors.open(Path.of(DIT_FIX + "tiny_pixart_forward.safetensors"))) {
            Map<String, Tensor> w = new java.util.TreeMap<>();
            for (org.deltadit.weights.TensorEntry e : sd.entries()) if (e.name().startsWith("w.")) w.put(e.name().substring(2), e.tensor());
            w.put("pos_embed", Tensor.of(new float[16 * 48], 1, 16, 48));
            SafetensorsWriter.write(withPos, w, null);
        }
        MainTest.Run fromPos = run("info", "--model", withPos.toString(), "--heads", "4");
        assertEquals(0, fromPos.status(), fromPos.err());
        assertTrue(fromPos.out().contains("native latent size   8  (16 tokens)") && fromPos.out().contains("native size          from pos_embed"), fromPos.out());
        // saved without it (PixArt's inference.py deletes it) and without config.json, only the user knows the size
        Path file = dir.resolve("PixArt-tiny.safetensors");
        SafetensorsWriter.copy(Path.of(DIT_FIX + "tiny_pixart_forward.safetensors"), file, k -> k.startsWith("w.") && !k.equals("w.pos_embed"), "w.");
        MainTest.Run none = run("info", "--model", file.toString(), "--heads", "4");
        assertEquals(2, none.status());
        assertTrue(none.err().contains("native size is unknown") && none.err().contains("give --image-size") && none.err().lines().count() == 1, none.err());
        MainTest.Run sized = run("info", "--model", file.toString(), "--heads", "4", "--image-size", "64");
        assertEquals(0, sized.status(), sized.err());
        assertTrue(sized.out().contains("native latent size   8  (16 tokens)") && sized.out().contains("native size          from --image-size"), sized.out());
        MainTest.Run odd = run("info", "--model", file.toString(), "--heads", "4", "--image-size", "60");
        assertEquals(2, odd.status());
        assertTrue(odd.err().startsWith("dit: --image-size: 60 (a multiple of 8"), odd.err());
        // the commands that make images of it take the size and an encoder for their prompts (it has no repository)
        Path prompts = Files.writeString(dir.resolve("prompts.txt"), "a cat\na dog\n");
        String[] common = {"--model", file.toString(), "--heads", "4", "--image-size", "64", "--prompts", prompts.toString(), "--steps", "4", "--threads", "2"};
        String encoder = repo.resolve("text_encoder").toString();
        MainTest.Run noEncoder = run(concat(new String[] {"bench", "compare", "--count", "2", "--rows", "full,shallow"}, common));
        assertEquals(2, noEncoder.status());
        assertTrue(noEncoder.err().contains("--text-encoder: none given"), noEncoder.err());
        MainTest.Run compare = run(concat(new String[] {"bench", "compare", "--count", "2", "--rows", "full,shallow", "--text-encoder", encoder}, common));
        assertEquals(0, compare.status(), compare.err());
        assertTrue(compare.out().contains("shallow"), compare.out());
        MainTest.Run tune = run(concat(new String[] {"tune", "--speedup", "1.2", "--calibration", "1", "--text-encoder", encoder,
                "--out", dir.resolve("policy.json").toString()}, common));
        assertEquals(0, tune.status(), tune.err());
        assertTrue(Files.exists(dir.resolve("policy.json")), tune.out());
    }

    @Test
    void badInputGetsOneLineAndStatusTwo() throws IOException {
        String png = dir.resolve("x.png").toString();
        MainTest.Run cls = run("generate", "--model", repo.toString(), "--class", "3", "--out", png);
        assertEquals(2, cls.status());
        assertTrue(cls.err().contains("--class: ") && cls.err().contains("takes prompts"), cls.err());
        MainTest.Run dit = run("generate", "--model", MainTest.FIX + "tiny_dit.pt", "--heads", "2", "--prompt", "a cat", "--out", png);
        assertEquals(2, dit.status());
        assertTrue(dit.err().contains("class-conditional DiT"), dit.err());
        MainTest.Run noPrompt = run("generate", "--model", repo.toString(), "--out", png);
        assertEquals(2, noPrompt.status());
        assertTrue(noPrompt.err().contains("--prompt: a text-to-image model needs prompts"), noPrompt.err());
        Path bare = Files.createDirectories(dir.resolve("bare"));
        Files.createDirectories(bare.resolve("transformer"));
        Files.copy(repo.resolve("model_index.json"), bare.resolve("model_index.json"));
        for (String f : new String[] {"config.json", "diffusion_pytorch_model.safetensors"}) Files.copy(repo.resolve("transformer/" + f), bare.resolve("transformer/" + f));
        MainTest.Run noEncoder = run("generate", "--model", bare.toString(), "--prompt", "a cat", "--save-latent", dir.resolve("l.safetensors").toString());
        assertEquals(2, noEncoder.status());
        assertTrue(noEncoder.err().contains("--text-encoder: ") && noEncoder.err().contains("no text_encoder/") && noEncoder.err().contains("dit encode"), noEncoder.err());
        assertEquals(1, noEncoder.err().strip().lines().count(), noEncoder.err());
        assertTrue(!Files.exists(dir.resolve("l.safetensors")), "no output file on bad input");
        MainTest.Run size = run("generate", "--model", repo.toString(), "--prompt", "a cat", "--image-size", "32", "--out", png);
        assertEquals(0, size.status(), "an MS model takes other sizes: " + size.err());
    }

    @Test
    void aLongPromptIsTruncatedWithAWarning() {
        String longPrompt = "mountains ".repeat(200);
        MainTest.Run r = run("generate", "--model", repo.toString(), "--prompt", longPrompt, "--steps", "1", "--threads", "2", "--out", dir.resolve("t.png").toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("longer than 120 tokens; truncated"), r.err());
    }

    static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
