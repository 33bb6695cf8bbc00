package org.deltadit.weights;

import static org.deltadit.weights.Fixtures.fails;
import static org.deltadit.weights.Fixtures.path;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.engine.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Layout detection, key tables and DiT configs: read, inferred, and contradicted. */
class FormatTest {
    @TempDir Path dir;

    static final DitConfig.Overrides TWO_HEADS = new DitConfig.Overrides(2, null, null);

    @Test
    void officialDitIsInferredFromShapes() {
        try (Checkpoint ck = Checkpoint.open(path("tiny_dit.pt"), null, null)) {
            assertEquals(CheckpointFormat.DIT_OFFICIAL, ck.format());
            DitConfig c = ck.ditConfig(TWO_HEADS);
            assertEquals(8, c.inputSize());
            assertEquals(2, c.patchSize());
            assertEquals(4, c.inChannels());
            assertEquals(16, c.hiddenSize());
            assertEquals(2, c.depth());
            assertEquals(10, c.numClasses());
            assertTrue(c.learnSigma());
            assertEquals(64, c.mlpHidden());
            assertEquals("pos_embed", c.sources().get("input_size"));
            assertEquals("--heads", c.sources().get("num_heads"));
            fails(() -> ck.ditConfig(DitConfig.Overrides.NONE), "number of heads", "--heads");
            fails(() -> ck.ditConfig(new DitConfig.Overrides(3, null, null)), "3 heads do not divide hidden size 16");
            fails(() -> ck.ditConfig(new DitConfig.Overrides(2, null, 16)), "input size 8, not 16");
        }
    }

    @Test
    void diffusersDitMapsToTheOfficialTensors() {
        try (Checkpoint diff = Checkpoint.open(path("tiny_dit_diffusers"), null, null); Checkpoint off = Checkpoint.open(path("tiny_dit.pt"), null, null)) {
            assertEquals(CheckpointFormat.DIT_DIFFUSERS, diff.format());
            assertEquals("diffusers repository (transformer/)", diff.container());
            DitConfig c = diff.ditConfig(DitConfig.Overrides.NONE);
            assertEquals(2, c.numHeads());
            assertEquals("config.json", c.sources().get("num_heads"));
            assertEquals(8, c.inputSize());
            Map<String, Tensor> a = KeyMap.canonical(diff.weights(), diff.format()), b = KeyMap.canonical(off.weights(), off.format());
            b.remove("pos_embed"); // diffusers keeps no positional table
            assertEquals(b.keySet(), a.keySet());
            for (String k : b.keySet()) assertArrayEquals(b.get(k).toFloatArray(), a.get(k).toFloatArray(), k);
        }
    }

    @Test
    void configContradictionsNameTheField() throws IOException {
        Path d = dir.resolve("model");
        Files.createDirectories(d);
        Files.copy(path("tiny_dit.pt"), d.resolve("tiny.pt"));
        Files.writeString(d.resolve("config.json"), "{\"input_size\": 8, \"patch_size\": 2, \"in_channels\": 4, \"hidden_size\": 32, \"depth\": 2, \"num_heads\": 2, \"num_classes\": 10, \"learn_sigma\": true}");
        try (Checkpoint ck = Checkpoint.open(d, null, null)) {
            fails(() -> ck.ditConfig(DitConfig.Overrides.NONE), "hidden_size = 32", "(16)");
        }
        Files.writeString(d.resolve("config.json"), "{\"input_size\": 8, \"patch_size\": 2, \"in_channels\": 4, \"hidden_size\": 16, \"depth\": 2, \"num_heads\": 2, \"num_classes\": 10, \"learn_sigma\": true}");
        try (Checkpoint ck = Checkpoint.open(d, null, null)) {
            DitConfig c = ck.ditConfig(DitConfig.Overrides.NONE);
            assertEquals("config.json", c.sources().get("num_heads"));
        }
        Files.writeString(d.resolve("config.json"), "{\"input_size\": 8, ");
        fails(() -> Checkpoint.open(d, null, null), "config.json", "not valid JSON");
    }

    /** Rewrites tiny_dit with one change, as safetensors, and opens it. */
    Checkpoint variant(String name, java.util.function.Consumer<Map<String, Tensor>> change) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        try (StateDict sd = Safetensors.open(path("tiny_dit.safetensors"))) {
            for (String k : sd.keys()) m.put(k, sd.tensor(k).copy());
        }
        change.accept(m);
        Path f = dir.resolve(name + ".safetensors");
        SafetensorsWriter.write(f, m, null);
        return Checkpoint.open(f, null, null);
    }

    @Test
    void missingExtraAndMisshapenKeysAreNamed() {
        try (Checkpoint ck = variant("missing", m -> m.remove("blocks.1.mlp.fc2.bias"))) {
            fails(() -> ck.ditConfig(TWO_HEADS), "missing.safetensors", "missing key 'blocks.1.mlp.fc2.bias'");
        }
        try (Checkpoint ck = variant("extra", m -> m.put("blocks.0.attn.q_norm.weight", Tensor.zeros(8)))) {
            fails(() -> ck.ditConfig(TWO_HEADS), "extra.safetensors", "unexpected key 'blocks.0.attn.q_norm.weight'");
        }
        try (Checkpoint ck = variant("shape", m -> m.put("blocks.1.attn.proj.weight", Tensor.zeros(16, 15)))) {
            fails(() -> ck.ditConfig(TWO_HEADS), "shape.safetensors", "'blocks.1.attn.proj.weight' is [16, 15]", "[16, 16]");
        }
        try (Checkpoint ck = variant("pos", m -> m.put("pos_embed", Tensor.zeros(1, 15, 16)))) {
            fails(() -> ck.ditConfig(TWO_HEADS), "pos.safetensors", "pos_embed");
        }
    }

    static Map<String, Tensor> keys(String... names) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (String n : names) m.put(n, Tensor.zeros(2, 2));
        return m;
    }

    @Test
    void otherLayoutsAreRecognisedAndStrayKeysNamed() {
        Object[][] cases = {
            {CheckpointFormat.PIXART_DIFFUSERS, keys("adaln_single.linear.weight", "caption_projection.linear_1.weight", "transformer_blocks.0.attn2.to_k.weight", "transformer_blocks.0.attn2.to_v.weight")},
            {CheckpointFormat.PIXART_ORIGINAL, keys("t_block.1.weight", "y_embedder.y_proj.fc1.weight", "blocks.0.cross_attn.kv_linear.weight", "pos_embed")},
            {CheckpointFormat.VAE, keys("decoder.conv_in.weight", "decoder.mid_block.attentions.0.to_q.weight", "encoder.conv_in.weight")},
            {CheckpointFormat.VAE_LEGACY_ATTENTION, keys("decoder.conv_in.weight", "decoder.mid_block.attentions.0.query.weight", "decoder.mid_block.attentions.0.proj_attn.bias")},
            {CheckpointFormat.T5_ENCODER, keys("shared.weight", "encoder.block.0.layer.0.SelfAttention.q.weight", "encoder.final_layer_norm.weight", "encoder.embed_tokens.weight")},
        };
        for (Object[] c : cases) {
            CheckpointFormat f = (CheckpointFormat) c[0];
            @SuppressWarnings("unchecked") Map<String, Tensor> m = (Map<String, Tensor>) c[1];
            Path file = dir.resolve(f + ".safetensors");
            SafetensorsWriter.write(file, m, null);
            try (Checkpoint ck = Checkpoint.open(file, null, null)) {
                assertEquals(f, ck.format());
                Map<String, Tensor> canon = KeyMap.canonical(ck.weights(), f);
                if (f == CheckpointFormat.PIXART_DIFFUSERS) assertArrayEquals(new int[] {4, 2}, canon.get("blocks.0.cross_attn.kv_linear.weight").shape());
                if (f == CheckpointFormat.VAE_LEGACY_ATTENTION) assertTrue(canon.containsKey("decoder.mid_block.attentions.0.to_out.0.bias"));
                if (f == CheckpointFormat.VAE) assertTrue(!canon.containsKey("encoder.conv_in.weight"), "the encoder is not needed");
            }
            m.put("something.else.weight", Tensor.zeros(1));
            SafetensorsWriter.write(file, m, null);
            try (Checkpoint ck = Checkpoint.open(file, null, null)) {
                fails(() -> KeyMap.canonical(ck.weights(), f), "unexpected key 'something.else.weight'");
            }
        }
        SafetensorsWriter.write(dir.resolve("odd.safetensors"), keys("foo.weight"), null);
        fails(() -> Checkpoint.open(dir.resolve("odd.safetensors"), null, null), "odd.safetensors", "unrecognised checkpoint layout", "foo.weight");
        SafetensorsWriter.write(dir.resolve("v1-5.safetensors"), keys("model.diffusion_model.input_blocks.0.0.weight", "first_stage_model.decoder.conv_in.weight"), null);
        fails(() -> Checkpoint.open(dir.resolve("v1-5.safetensors"), null, null), "v1-5.safetensors", "single-file Stable Diffusion U-Net", "unet/, text_encoder/");
        SafetensorsWriter.write(dir.resolve("sd3.safetensors"), keys("model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight"), null);
        fails(() -> Checkpoint.open(dir.resolve("sd3.safetensors"), null, null), "sd3.safetensors", "single-file Stable Diffusion 3", "transformer/");
    }

    @Test
    void modelPathsResolve() throws IOException {
        fails(() -> Checkpoint.open(dir.resolve("nothing-here"), null, null), "no such file or folder");
        Path empty = Files.createDirectories(dir.resolve("empty"));
        fails(() -> Checkpoint.open(empty, null, null), "no weights file");
        Path two = Files.createDirectories(dir.resolve("two"));
        Files.copy(path("tiny_dit.pt"), two.resolve("a.pt"));
        Files.copy(path("tiny_dit.pt"), two.resolve("b.pt"));
        fails(() -> Checkpoint.open(two, null, null), "several weights files", "a.pt", "b.pt");
        Path txt = Files.writeString(dir.resolve("weights.txt"), "x");
        fails(() -> Checkpoint.open(txt, null, null), "unknown weights file type");
        fails(() -> Checkpoint.open(path("tiny_dit.safetensors"), null, "ema"), "--weights-key applies to PyTorch");
    }
}
