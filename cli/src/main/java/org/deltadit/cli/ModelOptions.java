package org.deltadit.cli;

import java.nio.file.Path;
import org.deltadit.pipeline.ModelSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * What opening a model may need beyond its path, for every command that makes images: what a checkpoint may not say
 * (heads; the size it was trained for, which a PixArt-α state dict saved without pos_embed or config lacks) and the parts
 * a bare file lacks (VAE, T5).
 */
final class ModelOptions {
    @Option(names = "--heads", description = "attention heads when config and shapes do not tell")
    Integer heads;
    @Option(names = "--image-size", description = "output size in pixels (default: what the model was trained for, from its config or pos_embed)")
    Integer imageSize;
    @Option(names = "--vae", description = "AutoencoderKL folder or file for latent models (default: vae/ of a diffusers repository)")
    Path vae;
    @Mixin
    TextEncoderOptions text;

    /** The spec of {@code model} with these options and the engine's device and threads. */
    ModelSpec.Builder spec(Path model, EngineOptions engine) {
        return ModelSpec.builder().model(model).heads(heads).imageSize(imageSize).vae(vae).textEncoder(text.textEncoder).tokenizer(text.tokenizer)
                .device(engine.device).threads(engine.threads);
    }
}
