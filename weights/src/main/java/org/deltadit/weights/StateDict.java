package org.deltadit.weights;

import java.lang.foreign.Arena;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.deltadit.engine.Tensor;

/**
 * The named tensors of a checkpoint, in file order, viewing memory-mapped files. Closing it unmaps
 * the files (later access to its tensors fails cleanly); a model that lives as long as the process
 * need not close it.
 *
 * <p>INT8 weights ({@code dit quantize}) are an I8 tensor {@code K} beside its scales {@code K_scale}: the two are
 * paired here, for every file type, so {@link #tensor} returns the INT8 tensor with its scales and the
 * scales are no key of their own. An I8 tensor without scales stays a plain integer tensor (read as F32).
 */
public final class StateDict implements AutoCloseable {
    private final String source;
    private final Map<String, TensorEntry> entries;
    private final List<Arena> arenas;
    private final long fileBytes;
    private final Map<String, String> details;

    StateDict(String source, Map<String, TensorEntry> entries, List<Arena> arenas, long fileBytes, Map<String, String> details) {
        this.source = source;
        this.entries = Collections.unmodifiableMap(pairScales(entries));
        this.arenas = List.copyOf(arenas);
        this.fileBytes = fileBytes;
        this.details = Collections.unmodifiableMap(new LinkedHashMap<>(details));
    }

    private static Map<String, TensorEntry> pairScales(Map<String, TensorEntry> entries) {
        Map<String, TensorEntry> out = new LinkedHashMap<>(entries);
        for (TensorEntry e : entries.values()) {
            if (!e.name().endsWith(TensorEntry.SCALE_SUFFIX)) continue;
            TensorEntry w = entries.get(e.name().substring(0, e.name().length() - TensorEntry.SCALE_SUFFIX.length()));
            if (w == null || w.type() != StoredType.I8) continue;
            out.put(w.name(), w.withScale(e));
            out.remove(e.name());
        }
        return out;
    }

    /** Tensors stored as INT8 with scales. */
    public int quantizedCount() {
        int n = 0;
        for (TensorEntry e : entries.values()) if (e.scale() != null) n++;
        return n;
    }

    /** What the reader noticed, for {@code dit info}: e.g. the nested key the weights came from. */
    public Map<String, String> details() { return details; }

    /** The file (or files) the tensors came from, for messages. */
    public String source() { return source; }

    public Set<String> keys() { return entries.keySet(); }

    public int size() { return entries.size(); }

    public boolean has(String key) { return entries.containsKey(key); }

    /** The entry for {@code key}; a missing key is a {@link CheckpointException} naming it. */
    public TensorEntry entry(String key) {
        TensorEntry e = entries.get(key);
        if (e == null) throw new CheckpointException(source + ": missing key '" + key + "'");
        return e;
    }

    /** The tensor for {@code key} (a zero-copy view for float types). */
    public Tensor tensor(String key) { return entry(key).tensor(); }

    public Iterable<TensorEntry> entries() { return entries.values(); }

    /** Total elements over all tensors. */
    public long parameterCount() {
        long n = 0;
        for (TensorEntry e : entries.values()) n += e.numel();
        return n;
    }

    /** Elements per stored type, e.g. {F32=675129632}. */
    public Map<StoredType, Long> elementsByType() {
        Map<StoredType, Long> m = new EnumMap<>(StoredType.class);
        for (TensorEntry e : entries.values()) m.merge(e.type(), e.numel(), Long::sum);
        return m;
    }

    /** Bytes of the files read (all shards). */
    public long fileBytes() { return fileBytes; }

    /** Keys grouped by their first dotted segment with counts, for summaries. */
    public Map<String, Integer> prefixCounts() {
        Map<String, Integer> m = new TreeMap<>();
        for (String k : entries.keySet()) m.merge(k.contains(".") ? k.substring(0, k.indexOf('.')) : k, 1, Integer::sum);
        return m;
    }

    @Override
    public void close() {
        for (Arena a : arenas) a.close();
    }
}
