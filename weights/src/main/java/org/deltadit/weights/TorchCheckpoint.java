package org.deltadit.weights;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads PyTorch checkpoints in the zip format torch.save has written since 1.6 ({@code .pt},
 * {@code .pth}, {@code .bin}, {@code .ckpt}): {@code <name>/data.pkl} is unpickled by the
 * restricted {@link Unpickler}, and each tensor views its storage {@code <name>/data/<key>} inside
 * the mapped file, so the weights are never held twice.
 */
public final class TorchCheckpoint {
    /** Tried in this order when the top level is not itself a state dict. */
    public static final List<String> DEFAULT_KEYS = List.of("ema", "model", "state_dict", "module");

    private TorchCheckpoint() {}

    /** Opens {@code file}; {@code weightsKey} picks a nested state dict (null: the default rule). */
    public static StateDict open(Path file, String weightsKey) {
        Arena arena = Arena.ofShared();
        try {
            return parse(file.toString(), Safetensors.map(file, arena), weightsKey, List.of(arena));
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Maps one shard of a sharded checkpoint in {@code arena} and adds its tensors to {@code into}; returns its size. */
    static long read(Path file, Arena arena, Map<String, TensorEntry> into) {
        StateDict shard = parse(file.toString(), Safetensors.map(file, arena), null, List.of()); // owns nothing: the caller's arena
        for (TensorEntry e : shard.entries()) into.put(e.name(), e);
        return shard.fileBytes();
    }

    /** Reads a checkpoint held in {@code seg}; the state dict owns {@code arenas}. */
    static StateDict parse(String src, MemorySegment seg, String weightsKey, List<Arena> arenas) {
        if (!ZipArchive.looksLikeZip(seg)) {
            boolean legacy = seg.byteSize() > 2 && (seg.get(ValueLayout.JAVA_BYTE, 0) & 0xff) == 0x80;
            throw new CheckpointException(src + (legacy
                    ? ": a legacy (before PyTorch 1.6) checkpoint; re-save it with torch.save(state_dict, path) from a current PyTorch"
                    : ": not a PyTorch zip checkpoint (no zip header)"));
        }
        ZipArchive zip = new ZipArchive(src, seg);
        String prefix = null;
        for (String name : zip.entries().keySet()) {
            if (name.equals("data.pkl") || name.endsWith("/data.pkl")) {
                if (prefix != null) throw new CheckpointException(src + ": more than one data.pkl in the archive");
                prefix = name.substring(0, name.length() - "data.pkl".length());
            }
        }
        if (prefix == null) throw new CheckpointException(src + ": zip without data.pkl (not a torch.save checkpoint)");
        ZipArchive.Entry order = zip.entries().get(prefix + "byteorder");
        if (order != null) {
            String bo = new String(zip.data(order).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).trim();
            if (!bo.equals("little")) throw new CheckpointException(src + ": byte order '" + bo + "' (only little-endian checkpoints are read)");
        }
        String p = prefix;
        Map<String, Unpickler.Storage> storages = new HashMap<>();
        Object root = Unpickler.load(src, zip.data(zip.entries().get(prefix + "data.pkl")), pid -> storage(src, zip, p, pid, storages));
        Map<String, String> details = new LinkedHashMap<>();
        Map<?, ?> dict = select(src, root, weightsKey, details);
        Map<String, TensorEntry> entries = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String key)) throw new CheckpointException(src + ": state dict key " + e.getKey() + " is not a string");
            if (!(e.getValue() instanceof Unpickler.TorchTensor t)) {
                String what = e.getValue() instanceof Unpickler.Opaque o ? " (a " + o.global() + ")" : "";
                throw new CheckpointException(src + ": state dict entry '" + key + "' is not a tensor" + what);
            }
            entries.put(key, new TensorEntry(key, t.type(), t.shape(), t.strides(), t.offset(), t.storage(), src));
        }
        return new StateDict(src, entries, arenas, seg.byteSize(), details);
    }

    /** Resolves ('storage', torch.XStorage, key, location, numel) to the bytes of data/key. */
    private static Unpickler.Storage storage(String src, ZipArchive zip, String prefix, Unpickler.Tuple pid, Map<String, Unpickler.Storage> cache) {
        Object[] a = pid.items();
        if (a.length != 5 || !"storage".equals(a[0]) || !(a[1] instanceof Unpickler.StorageClass cls) || !(a[2] instanceof String key)
                || !(a[4] instanceof Long numel) || numel < 0) {
            throw new CheckpointException(src + ": persistent id is not ('storage', type, key, location, numel)");
        }
        Unpickler.Storage known = cache.get(key);
        if (known != null) {
            if (known.type() != cls.type()) throw new CheckpointException(src + ": storage '" + key + "' used as " + known.type() + " and " + cls.type());
            return known;
        }
        ZipArchive.Entry e = zip.entries().get(prefix + "data/" + key);
        if (e == null) throw new CheckpointException(src + ": storage '" + key + "' is missing (no " + prefix + "data/" + key + ")");
        MemorySegment bytes = zip.data(e);
        if (numel > Long.MAX_VALUE / cls.type().bytes() || bytes.byteSize() < numel * cls.type().bytes()) {
            throw new CheckpointException(src + ": storage '" + key + "' holds " + bytes.byteSize() + " bytes, " + numel + " × " + cls.type() + " needs more");
        }
        Unpickler.Storage s = new Unpickler.Storage(cls.type(), key, numel, bytes.asSlice(0, numel * cls.type().bytes()));
        cache.put(key, s);
        return s;
    }

    private static Map<?, ?> select(String src, Object root, String weightsKey, Map<String, String> details) {
        if (!(root instanceof Map<?, ?> top)) throw new CheckpointException(src + ": the checkpoint holds no dict at its top level");
        String topKeys = top.size() <= 12 ? String.join(", ", names(top)) : top.size() + " keys";
        if (weightsKey != null) {
            details.put("top-level keys", topKeys);
            Object v = top.get(weightsKey);
            if (!(v instanceof Map<?, ?> m)) {
                throw new CheckpointException(src + ": --weights-key '" + weightsKey + "' is not a dict in this checkpoint (top-level keys: " + String.join(", ", names(top)) + ")");
            }
            details.put("weights key", weightsKey);
            return m;
        }
        if (isStateDict(top)) return top;
        for (String k : DEFAULT_KEYS) {
            if (top.get(k) instanceof Map<?, ?> m && isStateDict(m)) {
                details.put("top-level keys", topKeys);
                details.put("weights key", k + " (default)");
                return m;
            }
        }
        throw new CheckpointException(src + ": no state dict found (top-level keys: " + String.join(", ", names(top)) + "); choose one with --weights-key");
    }

    /** A non-empty dict whose values are all tensors. */
    private static boolean isStateDict(Map<?, ?> m) {
        if (m.isEmpty()) return false;
        for (Object v : m.values()) if (!(v instanceof Unpickler.TorchTensor)) return false;
        return true;
    }

    private static List<String> names(Map<?, ?> m) {
        List<String> out = new ArrayList<>();
        for (Object k : m.keySet()) out.add(String.valueOf(k));
        return out;
    }
}
