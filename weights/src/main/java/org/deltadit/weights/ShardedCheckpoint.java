package org.deltadit.weights;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A checkpoint split over several files, described by {@code *.safetensors.index.json} or, in older Hugging Face
 * repositories (a T5 encoder's {@code pytorch_model-0000N-of-0000M.bin}), {@code *.bin.index.json}
 * ({@code weight_map}: tensor name → file name in the same folder). It loads as one state dict.
 */
public final class ShardedCheckpoint {
    private ShardedCheckpoint() {}

    /** Whether {@code fileName} (lower case) is a shard index. */
    static boolean isIndex(String fileName) { return fileName.endsWith(".safetensors.index.json") || fileName.endsWith(".bin.index.json"); }

    public static StateDict open(Path index) {
        Map<String, Object> json = Json.readObject(index);
        if (!(json.get("weight_map") instanceof Map<?, ?> map) || map.isEmpty()) {
            throw new CheckpointException(index + ": no weight_map in the shard index");
        }
        Set<String> files = new LinkedHashSet<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getValue() instanceof String f) || f.contains("/") || f.contains("\\") || f.equals("..")) {
                throw new CheckpointException(index + ": weight_map entry '" + e.getKey() + "' names no file in this folder");
            }
            files.add(f);
        }
        Path dir = index.toAbsolutePath().getParent();
        List<Arena> arenas = new ArrayList<>();
        Map<String, TensorEntry> entries = new LinkedHashMap<>();
        long bytes = 0;
        try {
            for (String f : files) {
                Arena arena = Arena.ofShared();
                arenas.add(arena);
                bytes += f.toLowerCase(java.util.Locale.ROOT).endsWith(".safetensors") ? Safetensors.read(dir.resolve(f), arena, entries)
                        : TorchCheckpoint.read(dir.resolve(f), arena, entries);
            }
            for (Map.Entry<?, ?> e : map.entrySet()) {
                TensorEntry t = entries.get(String.valueOf(e.getKey()));
                if (t == null) throw new CheckpointException(index + ": key '" + e.getKey() + "' is not in " + e.getValue());
                if (!t.source().endsWith(String.valueOf(e.getValue()))) {
                    throw new CheckpointException(index + ": key '" + e.getKey() + "' is in " + t.source() + ", the index says " + e.getValue());
                }
            }
            for (String k : entries.keySet()) {
                if (!map.containsKey(k)) throw new CheckpointException(index + ": key '" + k + "' in a shard is not in the index");
            }
            return new StateDict(index + " (" + files.size() + " shards)", entries, arenas, bytes, Map.of("shards", String.valueOf(files.size())));
        } catch (RuntimeException e) {
            for (Arena a : arenas) a.close();
            throw e;
        }
    }
}
