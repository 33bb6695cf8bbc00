package org.deltadit.weights;

import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.engine.Tensor;

/**
 * Stable Diffusion 3's MMDiT (SD3Transformer2DModel, paper App. B): {@code depth} joint blocks over image
 * tokens and {@code contextTokens} text tokens (77 CLIP + 256 T5), each stream with its own adaLN
 * modulation, projections and MLP, attention over both together; the last block's context stream only
 * feeds that attention (context_pre_only). Conditioning: the timestep and the pooled CLIP embeddings
 * ({@code pooledDim}); the context is projected from {@code jointAttentionDim}.
 */
public record Sd3Config(int inputSize, int patchSize, int inChannels, int outChannels, int hiddenSize, int depth, int numHeads,
                        int jointAttentionDim, int pooledDim, int contextTokens, int posEmbedMaxSize, CheckpointFormat format,
                        Map<String, String> sources) implements ModelConfig {

    @Override
    public int mlpHidden() { return 4 * hiddenSize; }

    @Override
    public String archName() {
        return depth == 24 && hiddenSize == 1536 ? "SD3-medium (MMDiT, 24 joint blocks)" : "SD3 MMDiT (depth " + depth + ", hidden " + hiddenSize + ", patch " + patchSize + ")";
    }

    /**
     * The published SD3-medium transformer at {@code imagePixels} (1024 native; any multiple of 16 up to the
     * position table's 192 × 2 × 8 = 3072 px): 24 blocks of width 1536 (24 heads of 64), 16 latent channels,
     * patch 2, context 4096 wide (77 CLIP tokens + 256 T5 tokens), pooled text 2048 wide.
     */
    public static Sd3Config preset(String arch, int imagePixels) {
        if (!arch.trim().equalsIgnoreCase("SD3-medium")) throw new org.deltadit.engine.InvalidParameter("arch", "unknown architecture '" + arch + "' (SD3-medium)");
        if (imagePixels % 16 != 0 || imagePixels < 16 || imagePixels > 3072) {
            throw new org.deltadit.engine.InvalidParameter("imageSize", imagePixels + " px: SD3 takes multiples of 16 (the VAE's 8 × the patch 2) up to 3072");
        }
        return new Sd3Config(imagePixels / 8, 2, 16, 16, 1536, 24, 24, 4096, 2048, 77 + 256, 192, CheckpointFormat.SD3_DIFFUSERS,
                Map.of("architecture", "--arch " + arch + " at " + imagePixels + " px"));
    }

    /**
     * The architecture of an SD3Transformer2DModel state dict: widths, channels, patch and depth from the
     * tensor shapes; heads, the native sample size and the position table's size from config.json
     * (num_attention_heads, sample_size, pos_embed_max_size), {@code heads} and {@code imageLatent} overriding.
     */
    public static Sd3Config resolve(String src, String cs, Map<String, Tensor> w, Map<String, Object> config, Integer heads, Integer imageLatent) {
        Map<String, String> from = new LinkedHashMap<>();
        Tensor patch = Shapes.need(src, w, "pos_embed.proj.weight", 4);
        int hidden = patch.dim(0), in = patch.dim(1), p = patch.dim(2);
        int joint = Shapes.need(src, w, "context_embedder.weight", 2).dim(1);
        int pooled = Shapes.need(src, w, "time_text_embed.text_embedder.linear_1.weight", 2).dim(1);
        int out = Shapes.need(src, w, "proj_out.weight", 2).dim(0) / (p * p);
        int depth = 0;
        while (w.containsKey("transformer_blocks." + depth + ".attn.to_q.weight")) depth++;
        if (depth == 0) throw new CheckpointException(src + ": no transformer_blocks.0.attn.to_q.weight (not an SD3 MMDiT)");
        from.put("hidden_size, in_channels, patch_size, depth, joint_attention_dim, pooled_projection_dim", "tensor shapes");
        Map<String, Object> c = config == null ? Map.of() : config;
        int h = heads != null ? heads : c.get("num_attention_heads") instanceof Number n ? n.intValue() : hidden / 64;
        from.put("num_heads", heads != null ? "--heads" : c.containsKey("num_attention_heads") ? cs : "hidden / 64 (SD3's head width)");
        int sample = imageLatent != null ? imageLatent : c.get("sample_size") instanceof Number n ? n.intValue() : 128;
        from.put("input_size", imageLatent != null ? "--image-size" : c.containsKey("sample_size") ? cs : "128 (SD3's 1024 px)");
        int posMax = c.get("pos_embed_max_size") instanceof Number n ? n.intValue() : 192;
        if (hidden % h != 0) throw new CheckpointException(cs + ": " + h + " heads do not divide the width " + hidden);
        if (sample / p > posMax) throw new org.deltadit.engine.InvalidParameter("imageSize", "a latent of " + sample + "² cells needs " + sample / p + " positions a side; this model has " + posMax);
        return new Sd3Config(sample, p, in, out, hidden, depth, h, joint, pooled, 77 + 256, posMax, CheckpointFormat.SD3_DIFFUSERS, Map.copyOf(from));
    }
}
