package org.deltadit.dit;

import org.deltadit.engine.Tensor;

/**
 * A block stack whose blocks attend to a caption between self-attention and the MLP (PixArt-α):
 * block(i) = mlp(i, h' + crossAttention(i, h')) with h' = selfAttention(i, h). The parts are exposed so
 * a cache policy can keep a block's cross-attention output and reuse it (T-GATE).
 */
public interface CrossAttentionStack<C> extends BlockStack<C> {
    /** h + the block's gated self-attention. */
    Tensor selfAttention(int i, Tensor h, C cond);

    /** The block's cross-attention output, to be added to h. */
    Tensor crossAttention(int i, Tensor h, C cond);

    /** h + the block's gated MLP. */
    Tensor mlp(int i, Tensor h, C cond);
}
