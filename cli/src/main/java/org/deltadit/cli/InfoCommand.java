package org.deltadit.cli;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.deltadit.weights.Checkpoint;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.DitConfig;
import org.deltadit.weights.PixArtConfig;
import org.deltadit.weights.T5Config;
import org.deltadit.weights.KeyMap;
import org.deltadit.weights.StoredType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code dit info}: what a checkpoint is, without loading a model. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show a checkpoint's format, architecture, parameter count and dtypes, and what was read versus inferred.")
final class InfoCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "weights file, folder, or diffusers repository")
    Path model;

    @Option(names = "--config", description = "config.json to use instead of the one beside the weights")
    Path config;

    @Option(names = "--weights-key", description = "nested state dict of a PyTorch checkpoint (default: the dict itself, else ema, model, state_dict)")
    String weightsKey;

    @Option(names = "--heads", description = "attention heads, when neither config nor the standard table gives them")
    Integer heads;

    @Option(names = "--arch", description = "architecture preset such as DiT-XL/2")
    String arch;

    // a PixArt-α state dict saved without its pos_embed buffer (PixArt's inference.py deletes it) and without a config says no size
    @Option(names = "--image-size", description = "pixels, for a checkpoint that does not say what size it was trained for (no config.json, no pos_embed)")
    Integer imageSize;

    @Override
    public Integer call() {
        if (heads != null && heads < 1) throw new IllegalArgumentException("--heads: " + heads + " (must be at least 1)");
        if (imageSize != null && (imageSize < 8 || imageSize % 8 != 0)) throw new IllegalArgumentException("--image-size: " + imageSize + " (a multiple of 8, at least 8)");
        Integer latent = imageSize == null ? null : imageSize / 8;
        try (Checkpoint ck = Checkpoint.open(model, config, weightsKey)) {
            var sd = ck.weights();
            // Resolve everything before printing, so a bad checkpoint prints one line and nothing else.
            DitConfig c = ck.format().isDit() ? ck.ditConfig(new DitConfig.Overrides(heads, arch, latent)) : null;
            PixArtConfig px = ck.format().isPixArt() ? ck.pixartConfig(heads, latent) : null;
            org.deltadit.weights.Sd3Config sd3 = ck.format().isSd3() ? ck.sd3Config(heads, latent) : null;
            org.deltadit.weights.UNetConfig unet = ck.format().isUNet() ? org.deltadit.dit.ModelLoader.unet(ck, null, org.deltadit.engine.Backends.select("reference", 1)).config() : null;
            T5Config t5 = ck.format() == CheckpointFormat.T5_ENCODER ? T5Config.resolve(sd.source(), ck.configSource(), T5Config.tied(KeyMap.canonical(sd, ck.format())), ck.config()) : null;
            int canonical = c == null ? KeyMap.canonical(sd, ck.format()).size() : 0;
            System.out.println("model:        " + model + (ck.container().equals("file") ? "" : "  [" + ck.container() + "]"));
            System.out.println("weights:      " + sd.source() + "  (" + human(sd.fileBytes()) + ")");
            for (Map.Entry<String, String> d : sd.details().entrySet()) System.out.printf("%-13s %s%n", d.getKey() + ":", d.getValue());
            System.out.println("format:       " + ck.format().description());
            System.out.println("config:       " + (ck.configPath() == null ? "none (architecture inferred from tensor shapes)" : ck.configPath()));
            StringBuilder types = new StringBuilder();
            for (Map.Entry<StoredType, Long> e : sd.elementsByType().entrySet()) types.append(types.isEmpty() ? "" : ", ").append(e.getKey()).append(' ').append(String.format("%,d", e.getValue()));
            System.out.printf("tensors:      %d keys, %,d values (%s)%n", sd.size(), sd.parameterCount(), types);
            if (sd.quantizedCount() > 0) System.out.println("quantized:    " + sd.quantizedCount() + " weights INT8 (weight-only, symmetric; scales beside each as <name>_scale)");
            if (c != null) {
                System.out.println("architecture: " + c.archName());
                row(c, "input_size", c.inputSize() == 0 ? "unknown (give --image-size)" : c.inputSize() + "  (" + c.tokens() + " tokens)");
                row(c, "patch_size", c.patchSize());
                row(c, "in_channels", c.inChannels() + " → out " + c.outChannels());
                row(c, "hidden_size", c.hiddenSize());
                row(c, "depth", c.depth());
                row(c, "num_heads", c.numHeads());
                row(c, "num_classes", c.numClasses());
                row(c, "learn_sigma", c.learnSigma());
                System.out.printf("  %-12s %-10s %s%n", "mlp_hidden", c.mlpHidden(), "blocks.0.mlp.fc1.weight");
                System.out.println("numerics:     " + (c.format() == org.deltadit.weights.CheckpointFormat.DIT_DIFFUSERS
                        ? "diffusers (timestep frequencies /127, MLP LayerNorm eps 1e-5)" : "official (timestep frequencies /128, LayerNorm eps 1e-6)"));
            } else if (px != null) {
                System.out.println("architecture: " + px.archName());
                System.out.printf("  %-20s %s  (%d tokens)%n", "native latent size", px.nativeSize(), px.tokens());
                System.out.printf("  %-20s %d → out %d, patch %d%n", "channels", px.inChannels(), px.outChannels(), px.patchSize());
                System.out.printf("  %-20s %d, %d blocks, %d heads%n", "hidden size", px.hiddenSize(), px.depth(), px.numHeads());
                System.out.printf("  %-20s %d channels, %d tokens%n", "caption", px.captionChannels(), px.maxTokens());
                System.out.printf("  %-20s %s%n", "micro-conditions", px.microConditions() ? "size and aspect ratio (MS)" : "none");
                System.out.printf("  %-20s %s%n", "interpolation scale", px.interpolationScale());
                System.out.printf("  %-20s %s%n", "null caption", sd.has("y_embedder.y_embedding") ? "learned (y_embedding)" : "none: guidance encodes the empty prompt");
                for (Map.Entry<String, String> e : px.sources().entrySet()) System.out.printf("  %-20s from %s%n", e.getKey(), e.getValue());
            } else if (sd3 != null) {
                System.out.println("architecture: " + sd3.archName());
                System.out.printf("  %-20s %d  (%d image tokens + %d text tokens: 77 CLIP, 256 T5)%n", "latent size", sd3.inputSize(), sd3.tokens(), sd3.contextTokens());
                System.out.printf("  %-20s %d → out %d, patch %d%n", "channels", sd3.inChannels(), sd3.outChannels(), sd3.patchSize());
                System.out.printf("  %-20s %d, %d joint blocks (the last one's text stream feeds attention only), %d heads%n", "hidden size", sd3.hiddenSize(), sd3.depth(), sd3.numHeads());
                System.out.printf("  %-20s context %d wide, pooled text %d wide; positions up to %d a side%n", "conditioning", sd3.jointAttentionDim(), sd3.pooledDim(), sd3.posEmbedMaxSize());
                for (Map.Entry<String, String> e : sd3.sources().entrySet()) System.out.printf("  %-20s from %s%n", e.getKey(), e.getValue());
                System.out.println("generation:   dit generate --model <the diffusers repository> --prompt … (flow-euler, 28 steps, guidance 7)");
            } else if (unet != null) {
                System.out.println("architecture: " + unet.archName());
                System.out.printf("  %-20s %s, %d ResNets a level, %d GroupNorm groups%n", "widths", java.util.Arrays.toString(unet.blockOut()), unet.layersPerBlock(), unet.groups());
                System.out.printf("  %-20s %d heads; cross-attention to %d-wide text%n", "attention", unet.heads(), unet.crossDim());
                System.out.printf("  %-20s %d  (%d blocks between conv_in and conv_out; dit plan --arch SD1.5 lists SD1.5's)%n", "latent size", unet.inputSize(), unet.depth());
                System.out.println("generation:   dit generate --model <the diffusers repository> --prompt … (ddim, 50 steps, guidance 7.5)");
            } else if (t5 != null) {
                System.out.printf("architecture: T5 encoder, %d layers, d_model %d, %d heads × %d, d_ff %d (gated GELU), vocabulary %d%n",
                        t5.numLayers(), t5.dModel(), t5.numHeads(), t5.dKv(), t5.dFf(), t5.vocab());
            } else {
                System.out.println("canonical:    all " + sd.size() + " keys recognised (" + canonical + " canonical tensors); a VAE: used through --vae or a repository's vae/");
            }
        }
        return 0;
    }

    private static void row(DitConfig c, String field, Object value) {
        System.out.printf("  %-12s %-10s %s%n", field, value, c.sources().getOrDefault(field, ""));
    }

    static String human(long bytes) {
        if (bytes >= 1L << 30) return String.format("%.2f GiB", bytes / (double) (1L << 30));
        if (bytes >= 1L << 20) return String.format("%.1f MiB", bytes / (double) (1L << 20));
        if (bytes >= 1L << 10) return String.format("%.1f KiB", bytes / 1024.0);
        return bytes + " bytes";
    }
}
