package org.deltadit.pipeline;

import static org.deltadit.engine.InvalidParameter.require;

import java.nio.file.Path;

/**
 * The model a {@link Pipeline} opens: a weights file, folder or diffusers repository ({@code model}),
 * or random weights of a preset architecture ({@code randomWeights} with {@code arch}), with what the
 * checkpoint may not tell (config, heads, image size) and where it runs ({@code device}, {@code threads};
 * null: the JVM properties, else cpu on every core). Null fields are not given.
 *
 * @param model         weights file, folder or diffusers repository (its vae/, text_encoder/ and tokenizer/ are used)
 * @param config        config.json instead of the one beside the weights
 * @param weightsKey    nested state dict of a PyTorch checkpoint
 * @param arch          architecture preset (DiT-XL/2, PixArt-XL/2): completes a config-less checkpoint, or names the random model
 * @param heads         attention heads when config and shapes do not tell
 * @param imageSize     output size in pixels (default: what the model was trained for)
 * @param vae           AutoencoderKL folder or file for latent models
 * @param textEncoder   PixArt: T5 encoder folder
 * @param tokenizer     PixArt: folder or spiece.model
 * @param randomWeights random weights of {@code arch} (seeded by {@code weightsSeed}), for timing without a checkpoint
 * @param weightsSeed   seed of the random weights
 * @param device        cpu or reference
 * @param threads       worker threads
 */
public record ModelSpec(Path model, Path config, String weightsKey, String arch, Integer heads, Integer imageSize, Path vae,
                        Path textEncoder, Path tokenizer, boolean randomWeights, long weightsSeed, String device, Integer threads) {
    public ModelSpec {
        if (randomWeights) {
            require(arch != null, "arch", "random weights need an architecture (e.g. DiT-XL/2 or PixArt-XL/2)");
            require(model == null, "model", "random weights and a model exclude each other");
            require(config == null, "config", "does not apply to random weights (the architecture is the preset's)");
            require(weightsKey == null, "weightsKey", "does not apply to random weights");
        } else {
            require(model != null, "model", "no model given");
        }
        require(heads == null || heads >= 1, "heads", heads + " (must be at least 1)");
        require(imageSize == null || imageSize >= 8, "imageSize", imageSize + " (at least 8)");
        require(threads == null || threads >= 1, "threads", threads + " (must be at least 1)");
    }

    /** A checkpoint with everything else from it and the defaults. */
    public static ModelSpec of(Path model) { return builder().model(model).build(); }

    public static Builder builder() { return new Builder(); }

    /** Fluent construction; {@link #build} validates. */
    public static final class Builder {
        private Path model, config, vae, textEncoder, tokenizer;
        private String weightsKey, arch, device;
        private Integer heads, imageSize, threads;
        private boolean randomWeights;
        private long weightsSeed;

        public Builder model(Path v) { model = v; return this; }
        public Builder config(Path v) { config = v; return this; }
        public Builder weightsKey(String v) { weightsKey = v; return this; }
        public Builder arch(String v) { arch = v; return this; }
        public Builder heads(Integer v) { heads = v; return this; }
        public Builder imageSize(Integer v) { imageSize = v; return this; }
        public Builder vae(Path v) { vae = v; return this; }
        public Builder textEncoder(Path v) { textEncoder = v; return this; }
        public Builder tokenizer(Path v) { tokenizer = v; return this; }
        public Builder randomWeights(boolean v) { randomWeights = v; return this; }
        public Builder weightsSeed(long v) { weightsSeed = v; return this; }
        public Builder device(String v) { device = v; return this; }
        public Builder threads(Integer v) { threads = v; return this; }

        public ModelSpec build() {
            return new ModelSpec(model, config, weightsKey, arch, heads, imageSize, vae, textEncoder, tokenizer, randomWeights, weightsSeed, device, threads);
        }
    }
}
