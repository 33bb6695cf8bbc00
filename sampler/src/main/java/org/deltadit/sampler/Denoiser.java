package org.deltadit.sampler;

import org.deltadit.engine.Tensor;

/** The model as a sampler sees it: model input x [B, C, H, W] at a step → output [B, C or 2C, H, W], ε first. */
@FunctionalInterface
public interface Denoiser {
    Tensor apply(Tensor x, StepContext ctx);
}
