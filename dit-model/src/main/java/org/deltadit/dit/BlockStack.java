package org.deltadit.dit;

import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;

/**
 * A transformer as a cache policy sees it: embed the input, run block i on a hidden state under a
 * per-step conditioning {@code C}, and finish with the final layer. DiT and PixArt-α both are one;
 * the block loop lives outside them (cache.BlockRunner), so a policy can choose which blocks run.
 */
public interface BlockStack<C> {
    int depth();

    /** The backend the model computes on (the cache uses it for Δ arithmetic). */
    Backend backend();

    /** Model input [B, C, H, W] → tokens [B, N, D]. */
    Tensor embed(Tensor x);

    /** As {@link #embed(Tensor)}; a model whose hidden state carries conditioned tokens too (SD3's text stream) adds them here. */
    default Tensor embed(Tensor x, C cond) { return embed(x); }

    Tensor block(int i, Tensor h, C cond);

    /**
     * Blocks [from, to) one after another. A model whose blocks are one backend op overrides it to hand the
     * backend the whole run ({@code Backend.adaLnBlocks}), so that a device keeps h between them.
     */
    default Tensor blocks(int from, int to, Tensor h, C cond) {
        for (int i = from; i < to; i++) h = block(i, h, cond);
        return h;
    }

    /**
     * What block i's first sub-layer sees of h: the timestep-modulated, normalised input for adaLN models
     * (DiT, PixArt-α) — TeaCache's signal; by default h itself.
     */
    default Tensor modulatedInput(int i, Tensor h, C cond) { return h; }

    /** Tokens [B, N, D] → model output [B, outC, H, W]. */
    Tensor finalLayer(Tensor h, C cond);
}
