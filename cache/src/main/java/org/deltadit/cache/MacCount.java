package org.deltadit.cache;

import org.deltadit.weights.DitConfig;
import org.deltadit.weights.ModelConfig;
import org.deltadit.weights.PixArtConfig;

/**
 * Multiply-accumulates in the Δ-DiT paper's convention (DESIGN.md §5): every linear layer and
 * convolution, patch embedding and the embedding MLPs included; attention products (QKᵀ, AV), norms
 * and elementwise ops excluded. {@link #attentionPerBlock} gives the products for the second figure.
 * All blocks of a model cost the same, so a range costs its length times one block.
 */
public final class MacCount {
    private MacCount() {}

    /** MACs of blocks [from, to) for one sample (one row of the batch). */
    public static long blocks(ModelConfig c, int from, int to) {
        long n = c.tokens(), d = c.hiddenSize(), mlp = c.mlpHidden();
        long perToken = d * 3 * d + d * d + d * mlp + mlp * d; // qkv, proj, fc1, fc2
        long perBlock = switch (c) {
            case DitConfig x -> n * perToken + d * 6 * d;       // adaLN projection: once per sample, not per token
            case PixArtConfig x -> n * perToken + crossAttention(x); // adaLN-single has no per-block linear
        };
        return (to - from) * perBlock;
    }

    /** Patch embedding, conditioning MLPs and the final layer (everything outside the blocks), one sample. */
    public static long outside(ModelConfig c) {
        long n = c.tokens(), d = c.hiddenSize(), p = c.patchSize();
        long patch = n * c.inChannels() * p * p * d;
        long temb = ModelConfig.FREQUENCY_WIDTH * d + d * d;
        long out = n * d * p * p * c.outChannels();
        return switch (c) {
            case DitConfig x -> patch + temb + d * 2 * d + out;
            case PixArtConfig x -> {
                long e = x.sizeEmbedWidth();
                long micro = x.microConditions() ? 3 * (ModelConfig.FREQUENCY_WIDTH * e + e * e) : 0;    // size h, size w, aspect ratio
                long caption = (long) x.maxTokens() * (x.captionChannels() * d + d * d);
                yield patch + temb + micro + d * 6 * d + caption + out;         // t_block once; the final layer has no linear modulation
            }
        };
    }

    /** One full forward pass of one sample. */
    public static long forward(ModelConfig c) { return outside(c) + blocks(c, 0, c.depth()); }

    /** The linears of one block's cross-attention for one sample (q and out per image token, k and v per caption token); 0 for DiT. */
    public static long crossAttention(ModelConfig c) {
        long n = c.tokens(), d = c.hiddenSize();
        return c instanceof PixArtConfig x ? n * 2 * d * d + x.maxTokens() * 2 * d * d : 0;
    }

    /** QKᵀ and AV of one block's self-attention for one sample: 2·N²·D. */
    public static long selfAttentionProducts(ModelConfig c) {
        long n = c.tokens();
        return 2 * n * n * c.hiddenSize();
    }

    /** QKᵀ and AV of one block for one sample: 2·N²·D, plus 2·N·L·D for PixArt's cross-attention. */
    public static long attentionPerBlock(ModelConfig c) {
        long cross = c instanceof PixArtConfig x ? 2L * c.tokens() * x.maxTokens() * c.hiddenSize() : 0;
        return selfAttentionProducts(c) + cross;
    }
}
