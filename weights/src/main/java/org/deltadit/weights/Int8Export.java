package org.deltadit.weights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.deltadit.engine.Tensor;

/**
 * {@code dit quantize}: a checkpoint in, the same model with INT8 block weights out, in the input's own key
 * names and layout so every loader reads it as it read the input. A weights file or folder becomes a folder
 * with one safetensors file and the input's config.json (plus {@code quantization_config}); a diffusers
 * repository becomes a repository whose denoiser folder is quantized. The input folder's other parts (text
 * encoder, tokenizer, VAE, scheduler; the demo's classifier) are symbolic links to the input's, so moving
 * the input breaks them. The output appears complete or not at all.
 */
public final class Int8Export {
    private Int8Export() {}

    /** What was written. */
    public record Result(Path weights, int quantized, int kept, long bytesBefore, long bytesAfter) {}

    public static Result run(Path model, Path out, int groupSize, Consumer<String> progress) {
        if (groupSize < 0) throw new IllegalArgumentException("--group-size: " + groupSize + " (0 = per output channel, or a positive divisor of each weight's inputs)");
        if (Files.exists(out) && !emptyFolder(out)) throw new IllegalArgumentException("--out: " + out + " exists (give a new folder, or an empty one)");
        AtomicFiles.checkWritable(out.resolve("x"), "--out");
        boolean repo = Files.isDirectory(model) && Files.exists(model.resolve("model_index.json"));
        try (Checkpoint ck = Checkpoint.open(model, null, null); AtomicFiles.Folder folder = new AtomicFiles.Folder(out)) {
            StateDict sd = ck.weights();
            if (sd.quantizedCount() > 0) throw new IllegalArgumentException(sd.source() + ": already INT8 (" + sd.quantizedCount() + " tensors with scales)");
            Map<String, Tensor> in = new LinkedHashMap<>();
            long before = 0;
            int eligible = 0;
            for (TensorEntry e : sd.entries()) {
                in.put(e.name(), e.tensor());
                before += e.byteSize();
                if (!Int8Weights.eligible(e.name(), e.shape())) continue;
                Int8Weights.checkGroup(e.name(), e.shape(), groupSize); // before any progress line
                eligible++;
            }
            if (eligible == 0) throw new IllegalArgumentException(sd.source() + ": a " + ck.format().description() + " has no transformer-block linear weights to quantize");
            progress.accept("quantize: " + eligible + " of " + in.size() + " tensors of " + sd.source() + " to INT8 (" + (groupSize == 0 ? "per output channel" : "groups of " + groupSize) + ") …");
            Map<String, Tensor> q = Int8Weights.quantize(in, groupSize);
            String sub = repo ? ck.weightsPath().toAbsolutePath().getParent().getFileName().toString() : null;
            Path dir = repo ? folder.file(sub) : folder.file("");
            Files.createDirectories(dir);
            String stem = ck.weightsPath().getFileName().toString().replaceFirst("\\.safetensors\\.index\\.json$|\\.[^.]+$", "");
            Path weights = dir.resolve(stem + ".safetensors");
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            meta.put(Int8Weights.CONFIG_FIELD, Json.write(Int8Weights.marker(groupSize)).strip());
            SafetensorsWriter.write(weights, q, meta);
            if (ck.config() != null) {
                Map<String, Object> cfg = new LinkedHashMap<>(ck.config());
                cfg.put(Int8Weights.CONFIG_FIELD, Int8Weights.marker(groupSize));
                AtomicFiles.writeString(dir.resolve("config.json"), Json.write(cfg));
            }
            if (repo) linkOtherParts(model, folder, java.util.Set.of(sub));
            else if (Files.isDirectory(model)) linkOtherParts(model, folder, java.util.Set.of(ck.weightsPath().getFileName().toString(), "config.json"));
            long after = Files.size(weights);
            folder.commit();
            Path written = repo ? out.resolve(sub).resolve(weights.getFileName()) : out.resolve(weights.getFileName());
            return new Result(written, eligible, in.size() - eligible, before, after);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("--out: " + out + ": cannot write (" + AtomicFiles.reason(e) + ")", e);
        }
    }

    /**
     * Everything else in the input folder, linked: a repository's text encoder (19 GB for T5-XXL), VAE and
     * tokenizer, the demo folder's classifier. model_index.json is copied.
     */
    private static void linkOtherParts(Path model, AtomicFiles.Folder folder, java.util.Set<String> written) throws IOException {
        try (Stream<Path> parts = Files.list(model)) {
            for (Path p : parts.sorted().toList()) {
                String name = p.getFileName().toString();
                if (written.contains(name) || name.startsWith(".")) continue;
                if (name.equals("model_index.json")) Files.copy(p, folder.file(name));
                else Files.createSymbolicLink(folder.file(name), p.toAbsolutePath().normalize());
            }
        }
    }

    private static boolean emptyFolder(Path p) {
        if (!Files.isDirectory(p)) return false;
        try (Stream<Path> s = Files.list(p)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }
}
