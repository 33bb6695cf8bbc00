package org.deltadit.weights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A model as the user points at it: a weights file, a folder holding one weights file (and maybe
 * a config.json), or a diffusers repository (model_index.json with transformer/). Opening finds the
 * weights, reads them zero-copy, reads the config beside them and detects the layout.
 */
public record Checkpoint(Path weightsPath, String container, StateDict weights, CheckpointFormat format, Map<String, Object> config, Path configPath)
        implements AutoCloseable {

    public static Checkpoint open(Path model, Path config, String weightsKey) {
        if (!Files.exists(model)) throw new CheckpointException(model + ": no such file or folder");
        Path dir = model;
        String container = "file";
        if (Files.isDirectory(model)) {
            if (Files.exists(model.resolve("model_index.json"))) {
                boolean unet = !Files.isDirectory(model.resolve("transformer")) && Files.isDirectory(model.resolve("unet"));
                dir = model.resolve(unet ? "unet" : "transformer");
                if (!Files.isDirectory(dir)) throw new CheckpointException(model + ": diffusers repository without a transformer/ (or unet/) folder");
                container = "diffusers repository (" + (unet ? "unet/" : "transformer/") + ")";
            } else {
                container = "folder";
            }
        }
        Path weights = Files.isDirectory(dir) ? pickWeights(dir) : model;
        if (config == null) {
            Path beside = weights.toAbsolutePath().getParent().resolve("config.json");
            if (Files.exists(beside)) config = beside;
        }
        Map<String, Object> cfg = config == null ? null : Json.readObject(config);
        StateDict sd = read(weights, weightsKey);
        try {
            return new Checkpoint(weights, container, sd, CheckpointFormat.detect(sd), cfg, config);
        } catch (RuntimeException e) {
            sd.close();
            throw e;
        }
    }

    /** Reads one weights file by its name: safetensors, a shard index, or a PyTorch zip. */
    public static StateDict read(Path file, String weightsKey) {
        String name = file.getFileName().toString().toLowerCase();
        if (Files.isDirectory(file)) throw new CheckpointException(file + ": a folder, not a weights file");
        if (ShardedCheckpoint.isIndex(name)) return ShardedCheckpoint.open(file);
        if (name.endsWith(".safetensors")) {
            if (weightsKey != null) throw new CheckpointException(file + ": --weights-key applies to PyTorch checkpoints, a safetensors file holds one state dict");
            return Safetensors.open(file);
        }
        if (name.endsWith(".pt") || name.endsWith(".pth") || name.endsWith(".bin") || name.endsWith(".ckpt")) return TorchCheckpoint.open(file, weightsKey);
        throw new CheckpointException(file + ": unknown weights file type (expected .safetensors, .pt, .pth, .bin, .ckpt or a shard index, *.safetensors.index.json or *.bin.index.json)");
    }

    private static final List<String> PREFERRED = List.of("diffusion_pytorch_model", "model", "dit");

    /**
     * The one weights file in a folder: a safetensors shard index first, then safetensors (full precision before .fp16),
     * then a PyTorch shard index (whose shards are not picked alone), then PyTorch.
     */
    public static Path pickWeights(Path dir) {
        List<Path> index = new ArrayList<>(), st = new ArrayList<>(), binIndex = new ArrayList<>(), pt = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files.sorted()::iterator) {
                String n = f.getFileName().toString().toLowerCase();
                if (n.endsWith(".safetensors.index.json")) index.add(f);
                else if (n.endsWith(".bin.index.json")) binIndex.add(f);
                else if (n.endsWith(".safetensors")) st.add(f);
                else if (n.endsWith(".pt") || n.endsWith(".pth") || n.endsWith(".bin") || n.endsWith(".ckpt")) pt.add(f);
            }
        } catch (IOException e) {
            throw new CheckpointException(dir + ": cannot list (" + e.getMessage() + ")", e);
        }
        for (List<Path> group : List.of(index, st, binIndex, pt)) {
            List<Path> full = new ArrayList<>(group);
            full.removeIf(p -> p.getFileName().toString().contains(".fp16."));
            List<Path> use = full.isEmpty() ? group : full;
            if (use.size() == 1) return use.get(0);
            // A folder may hold other tensors beside the model (the demo's classifier): the usual names win.
            for (String stem : PREFERRED) {
                for (Path p : use) if (p.getFileName().toString().startsWith(stem + ".")) return p;
            }
            if (use.size() > 1) throw new CheckpointException(dir + ": several weights files (" + names(use) + "); name one");
        }
        throw new CheckpointException(dir + ": no weights file (.safetensors, .pt, .pth, .bin) in the folder");
    }

    private static String names(List<Path> ps) {
        List<String> n = new ArrayList<>();
        for (Path p : ps) n.add(p.getFileName().toString());
        return String.join(", ", n);
    }

    /** The DiT architecture of this checkpoint (format, config, overrides and shapes agreeing). */
    public DitConfig ditConfig(DitConfig.Overrides overrides) {
        if (!format.isDit()) throw new CheckpointException(weights.source() + ": a " + format.description() + " checkpoint, not a DiT");
        return DitConfig.resolve(weights.source(), configSource(), KeyMap.canonical(weights, format), format, config, overrides);
    }

    /** The PixArt-α architecture of this checkpoint; {@code imageLatent} is --image-size / 8 (null: the native size). */
    public PixArtConfig pixartConfig(Integer heads, Integer imageLatent) {
        if (!format.isPixArt()) throw new CheckpointException(weights.source() + ": a " + format.description() + " checkpoint, not a PixArt-α transformer");
        return PixArtConfig.resolve(weights.source(), configSource(), KeyMap.canonical(weights, format), format, config, heads, imageLatent);
    }

    /** The SD3 MMDiT architecture of this checkpoint; {@code imageLatent} is --image-size / 8 (null: the config's sample size). */
    public Sd3Config sd3Config(Integer heads, Integer imageLatent) {
        if (!format.isSd3()) throw new CheckpointException(weights.source() + ": a " + format.description() + " checkpoint, not an SD3 MMDiT");
        return Sd3Config.resolve(weights.source(), configSource(), KeyMap.canonical(weights, format), config, heads, imageLatent);
    }

    /** What messages about config fields name: the config file, else the weights. */
    public String configSource() { return configPath != null ? configPath.toString() : weights.source(); }

    @Override
    public void close() { weights.close(); }
}
