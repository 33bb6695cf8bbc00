package org.deltadit.weights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.deltadit.engine.Tensor;

/**
 * A checkpoint in, the same model with its tensors changed out ({@code dit quantize}, {@code dit convert}), in the
 * input's own key names and layout so every loader reads it as it read the input. A weights file or folder becomes
 * a folder with one safetensors file and the input's config.json (plus the change's marker, if any); a diffusers
 * repository becomes a repository whose denoiser folder is changed. The input folder's other parts (text encoder,
 * tokenizer, VAE, scheduler; the demo's classifier) are symbolic links to the input's, so moving the input breaks
 * them. The output appears complete or not at all.
 */
final class ModelExport {
    private ModelExport() {}

    /**
     * The dtype the tensors named in {@code as} are written in (converted a chunk at a time, or quantized with
     * {@code groupSize}, as they are written; every other tensor of the input as stored), and how many it names.
     */
    record Changed(Map<String, org.deltadit.engine.DType> as, int groupSize) {
        int changed() { return as.size(); }
    }

    /** What one export does: checks the checkpoint (an {@link IllegalArgumentException} refuses it) and says which tensors change. */
    interface Change {
        Changed apply(Checkpoint ck, Map<String, Tensor> in);
    }

    /** What was written: the weights file, tensors touched and kept, and the sizes before and after. */
    record Written(Path weights, int changed, int kept, long bytesBefore, long bytesAfter) {}

    /** {@code configField}: a field added to config.json and the file's metadata ({@code marker} its value), or null. */
    static Written run(Path model, Path out, String configField, Object marker, Change change) {
        if (Files.exists(out) && !emptyFolder(out)) throw new IllegalArgumentException("--out: " + out + " exists (give a new folder, or an empty one)");
        AtomicFiles.checkWritable(out.resolve("x"), "--out");
        boolean repo = Files.isDirectory(model) && Files.exists(model.resolve("model_index.json"));
        try (Checkpoint ck = Checkpoint.open(model, null, null); AtomicFiles.Folder folder = new AtomicFiles.Folder(out)) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            long before = 0;
            for (TensorEntry e : ck.weights().entries()) {
                in.put(e.name(), e.tensor());
                before += e.byteSize();
            }
            Changed c = change.apply(ck, in);
            String sub = repo ? ck.weightsPath().toAbsolutePath().getParent().getFileName().toString() : null;
            Path dir = repo ? folder.file(sub) : folder.file("");
            Files.createDirectories(dir);
            String stem = ck.weightsPath().getFileName().toString().replaceFirst("\\.safetensors\\.index\\.json$|\\.[^.]+$", "");
            Path weights = dir.resolve(stem + ".safetensors");
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            if (configField != null) meta.put(configField, Json.write(marker).strip());
            SafetensorsWriter.write(weights, in, meta, c.as(), c.groupSize());
            if (ck.config() != null) {
                Map<String, Object> cfg = new LinkedHashMap<>(ck.config());
                if (configField != null) cfg.put(configField, marker);
                AtomicFiles.writeString(dir.resolve("config.json"), Json.write(cfg));
            }
            if (repo) linkOtherParts(model, folder, Set.of(sub));
            else if (Files.isDirectory(model)) linkOtherParts(model, folder, Set.of(ck.weightsPath().getFileName().toString(), "config.json"));
            long after = Files.size(weights);
            folder.commit();
            Path written = repo ? out.resolve(sub).resolve(weights.getFileName()) : out.resolve(weights.getFileName());
            return new Written(written, c.changed(), in.size() - c.changed(), before, after);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("--out: " + out + ": cannot write (" + AtomicFiles.reason(e) + ")", e);
        }
    }

    /**
     * Everything else in the input folder, linked: a repository's text encoder (19 GB for T5-XXL), VAE and
     * tokenizer, the demo folder's classifier. model_index.json is copied.
     */
    private static void linkOtherParts(Path model, AtomicFiles.Folder folder, Set<String> written) throws IOException {
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
