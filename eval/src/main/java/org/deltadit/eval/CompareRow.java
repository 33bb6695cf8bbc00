package org.deltadit.eval;

import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.deltadit.cache.CachePolicy;
import org.deltadit.cache.CacheSpec;
import org.deltadit.pipeline.PolicyFile;
import org.deltadit.weights.ModelConfig;

/**
 * One row of the comparison table: a configuration run on the same classes and noise as the others.
 *
 * @param name   the row's key (full, t13, delta-dit, a policy file's name)
 * @param label  the table's "Method" cell
 * @param steps  the row's sampling steps (fewer for t&lt;N&gt; rows)
 * @param policy the cache policy
 */
public record CompareRow(String name, String label, int steps, CachePolicy policy) implements Serializable {

    public static final String DEFAULT_ROWS = "full,t13,faster,shallow,middle,deep,delta-dit,reverse";
    static final String NAMES = "full, t<N>, faster, faster<I>, shallow, middle, deep, forecast-shallow|middle|deep, delta-dit, reverse";

    /** The uncached run every other row is measured against. */
    public static CompareRow full(int steps) { return new CompareRow("full", "Full (T = " + steps + ")", steps, new CachePolicy.None()); }

    /**
     * The rows a comma-separated spec names, checked against {@code steps} and {@code depth}; the full row
     * comes first (added when the spec leaves it out). Errors name {@code --rows}.
     */
    public static List<CompareRow> parse(String spec, int steps, int depth) {
        Map<String, CompareRow> out = new LinkedHashMap<>();
        int b = CachePolicy.DeltaDit.defaultB(steps), nc = CachePolicy.DeltaDit.defaultCachedBlocks(depth);
        for (String raw : spec.split(",")) {
            String n = raw.trim().toLowerCase(Locale.ROOT);
            CompareRow r;
            if (n.equals("full")) r = full(steps);
            else if (n.matches("t\\d{1,4}")) {
                int t = Integer.parseInt(n.substring(1));
                if (t < 1 || t > 1000) throw new IllegalArgumentException("--rows: '" + raw.trim() + "': fewer steps T must be 1..1000");
                r = new CompareRow(n, "T = " + t, t, new CachePolicy.None());
            } else if (n.matches("faster\\d*")) {
                int i = n.length() > 6 ? Integer.parseInt(n.substring(6)) : nc;
                r = new CompareRow(n, "Faster Diffusion (I = " + i + ")", steps, new CachePolicy.FasterDiffusion(i, CachePolicy.DEFAULT_INTERVAL));
            } else if (n.equals("shallow") || n.equals("middle") || n.equals("deep")) {
                CachePolicy.DeltaCache dc = CacheSpec.deltaCache(n, depth);
                r = new CompareRow(n, "Δ-Cache " + n + " [" + dc.from() + "," + dc.to() + ")", steps, dc);
            } else if (n.matches("forecast-(shallow|middle|deep)")) {
                CachePolicy.DeltaCache dc = CacheSpec.deltaCache(n.substring(9), depth);
                r = new CompareRow(n, "Δ-Cache forecast " + n.substring(9) + " [" + dc.from() + "," + dc.to() + ")", steps,
                        new CachePolicy.Forecast(dc.from(), dc.to(), CachePolicy.DEFAULT_INTERVAL));
            } else if (n.equals("delta-dit")) r = new CompareRow(n, "Δ-DiT (b = " + b + ", N_c = " + nc + ")", steps, new CachePolicy.DeltaDit(b, CachePolicy.DEFAULT_INTERVAL, nc, false));
            else if (n.equals("reverse")) r = new CompareRow(n, "Δ-DiT reversed", steps, new CachePolicy.DeltaDit(b, CachePolicy.DEFAULT_INTERVAL, nc, true));
            else throw new IllegalArgumentException("--rows: unknown row '" + raw.trim() + "' (" + NAMES + ")");
            r.policy().check(r.steps(), depth); // the row's parameters against the run
            out.put(n, r);
        }
        if (out.isEmpty()) throw new IllegalArgumentException("--rows: no rows");
        List<CompareRow> list = new ArrayList<>(out.values());
        if (!list.get(0).name().equals("full")) list.add(0, full(steps));
        return list;
    }

    /** A policy file (see dit generate --cache-config) as a row; errors name {@code --cache-config}. */
    public static CompareRow policyFile(Path f, int steps, ModelConfig c, double cfg) {
        if (!Files.isRegularFile(f)) throw new IllegalArgumentException("--cache-config: " + f + ": no such file");
        CachePolicy policy = PolicyFile.read(f).resolve(steps, c, cfg > 1 ? 2 : 1);
        return new CompareRow(f.getFileName().toString(), "policy " + f.getFileName() + " (" + policy.describe() + ")", steps, policy);
    }
}
