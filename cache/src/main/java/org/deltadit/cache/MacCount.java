package org.deltadit.cache;

import org.deltadit.weights.DitConfig;

/**
 * Multiply-accumulates of DiT in the Δ-DiT paper's convention (DESIGN.md §5): every linear layer and
 * convolution, patch embedding and the embedding MLPs included; attention products (QKᵀ, AV), norms
 * and elementwise ops excluded. {@link #attentionPerBlock} gives the products for the second figure.
 */
public final class MacCount {
    private MacCount() {}

    /** MACs of blocks [from, to) for one sample (one row of the batch). */
    public static long blocks(DitConfig c, int from, int to) {
        long n = c.tokens(), d = c.hiddenSize(), mlp = c.mlpHidden();
        long perToken = d * 3 * d + d * d + d * mlp + mlp * d; // qkv, proj, fc1, fc2
        long adaLn = d * 6 * d;                               // once per sample, not per token
        return (to - from) * (n * perToken + adaLn);
    }

    /** Patch embedding, timestep MLP and the final layer (everything outside the blocks), one sample. */
    public static long outside(DitConfig c) {
        long n = c.tokens(), d = c.hiddenSize(), p = c.patchSize();
        long patch = n * c.inChannels() * p * p * d;
        long temb = 256 * d + d * d;
        long fin = d * 2 * d + n * d * p * p * c.outChannels();
        return patch + temb + fin;
    }

    /** One full forward pass of one sample. */
    public static long forward(DitConfig c) { return outside(c) + blocks(c, 0, c.depth()); }

    /** QKᵀ and AV of one block for one sample: 2·N²·D. */
    public static long attentionPerBlock(DitConfig c) {
        long n = c.tokens();
        return 2 * n * n * c.hiddenSize();
    }
}
