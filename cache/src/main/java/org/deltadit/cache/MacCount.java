package org.deltadit.cache;

import java.util.List;
import org.deltadit.weights.DitConfig;
import org.deltadit.weights.ModelConfig;
import org.deltadit.weights.PixArtConfig;
import org.deltadit.weights.Sd3Config;
import org.deltadit.weights.UNetConfig;

/**
 * Multiply-accumulates in the Δ-DiT paper's convention (DESIGN.md §5): every linear layer and
 * convolution, patch embedding and the embedding MLPs included; attention products (QKᵀ, AV), norms
 * and elementwise ops excluded. {@link #attentionPerBlock} gives the products for the second figure.
 * A range costs the sum of its blocks: all blocks of DiT and PixArt cost the same, SD3's last block
 * less (its context stream only feeds the joint attention).
 */
public final class MacCount {
    private MacCount() {}

    /** MACs of blocks [from, to) for one sample (one row of the batch). */
    public static long blocks(ModelConfig c, int from, int to) {
        long n = c.tokens(), d = c.hiddenSize(), mlp = c.mlpHidden();
        long perToken = d * 3 * d + d * d + d * mlp + mlp * d; // qkv, proj, fc1, fc2
        return switch (c) {
            case DitConfig x -> (to - from) * (n * perToken + d * 6 * d);       // adaLN projection: once per sample, not per token
            case PixArtConfig x -> (to - from) * (n * perToken + crossAttention(x)); // adaLN-single has no per-block linear
            case UNetConfig u -> {
                List<UNetMacs.Layer> l = UNetMacs.layers(u);
                long sum = 0;
                for (int i = from; i < to; i++) sum += l.get(i + 1).macs(); // layer 0 is conv_in
                yield sum;
            }
            case Sd3Config x -> {
                // each stream: its adaLN (6 × D²) and, per token, qkv + out + MLP; the last block's context stream
                // only its continuous adaLN (2 × D²) and qkv
                long m = x.contextTokens(), joint = n * perToken + d * 6 * d, full = joint + m * perToken + d * 6 * d, last = joint + m * 3 * d * d + d * 2 * d;
                long sum = 0;
                for (int i = from; i < to; i++) sum += i == x.depth() - 1 ? last : full;
                yield sum;
            }
        };
    }

    /** Patch embedding, conditioning MLPs and the final layer (everything outside the blocks), one sample. */
    public static long outside(ModelConfig c) {
        long n = c.tokens(), d = c.hiddenSize(), p = c.patchSize();
        long patch = n * c.inChannels() * p * p * d;
        long temb = ModelConfig.FREQUENCY_WIDTH * d + d * d;
        long out = n * d * p * p * c.outChannels();
        return switch (c) {
            case UNetConfig u -> {
                List<UNetMacs.Layer> l = UNetMacs.layers(u);
                yield l.get(0).macs() + l.get(l.size() - 1).macs(); // conv_in with the time embedding, conv_out
            }
            case DitConfig x -> patch + temb + d * 2 * d + out;
            // timestep MLP, pooled-text MLP, context projection (every text token), the output adaLN (2 × D²)
            case Sd3Config x -> patch + temb + (long) x.pooledDim() * d + d * d + (long) x.contextTokens() * x.jointAttentionDim() * d + d * 2 * d + out;
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

    /** QKᵀ and AV of one block's self-attention for one sample: 2·N²·D (SD3: over the N + L joint tokens). */
    public static long selfAttentionProducts(ModelConfig c) {
        if (c instanceof UNetConfig) return 0; // not counted for the U-Net (its attention runs at four resolutions)
        long n = c.tokens() + (c instanceof Sd3Config x ? x.contextTokens() : 0);
        return 2 * n * n * c.hiddenSize();
    }

    /** QKᵀ and AV of one block for one sample: 2·N²·D, plus 2·N·L·D for PixArt's cross-attention. */
    public static long attentionPerBlock(ModelConfig c) {
        if (c instanceof UNetConfig) return 0;
        long cross = c instanceof PixArtConfig x ? 2L * c.tokens() * x.maxTokens() * c.hiddenSize() : 0;
        return selfAttentionProducts(c) + cross;
    }
}
