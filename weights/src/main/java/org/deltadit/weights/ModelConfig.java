package org.deltadit.weights;

import java.util.Map;

/**
 * What the cache planner and the MAC count need of a transformer, whatever its family: the block
 * stack's size and the token grid. {@link DitConfig} (class-conditional), {@link PixArtConfig}
 * (text-conditional, cross-attention) and {@link Sd3Config} (joint attention over image and text).
 */
public sealed interface ModelConfig permits DitConfig, PixArtConfig, Sd3Config, UNetConfig {
    /** Width of the sinusoidal embedding of timesteps (and PixArt's size and aspect-ratio conditions) before their MLPs. */
    int FREQUENCY_WIDTH = 256;

    /** Latent (or pixel) side length the model runs at; 0 when still unknown. */
    int inputSize();

    int patchSize();

    int inChannels();

    int outChannels();

    int hiddenSize();

    int depth();

    int numHeads();

    int mlpHidden();

    CheckpointFormat format();

    /** Per field, where its value came from (config, command line, tensor shape). */
    Map<String, String> sources();

    /** A readable architecture name ("DiT-XL/2", "PixArt-XL/2 (MS)"). */
    String archName();

    default int tokens() { return (inputSize() / patchSize()) * (inputSize() / patchSize()); }
}
