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
    static final String NAMES = "full, t<N>, faster, faster<I>, shallow, middle, deep, forecast-shallow|middle|deep, delta-dit, reverse; "
            + "delta-dit, reverse, shallow, middle, deep and forecast-… take @X for a MAC budget (delta-dit@2: N and N_c solved for 2×)";

    /** The uncached run every other row is measured against. */
    public static CompareRow full(int steps) { return new CompareRow("full", "Full (T = " + steps + ")", steps, new CachePolicy.None()); }

    /**
     * The rows a comma-separated spec names, checked against {@code steps} and {@code depth}; the full row
     * comes first (added when the spec leaves it out). Errors name {@code --rows}.
     */
    public static List<CompareRow> parse(String spec, int steps, int depth) { return parse(spec, steps, depth, null, 1); }

    /** As above; with the model's config and guidance branches, rows may name a MAC budget ({@code delta-dit@2}). */
    public static List<CompareRow> parse(String spec, int steps, ModelConfig c, int branches) { return parse(spec, steps, c.depth(), c, branches); }

    private static List<CompareRow> parse(String spec, int steps, int depth, ModelConfig c, int branches) {
        Map<String, CompareRow> out = new LinkedHashMap<>();
        int b = CachePolicy.DeltaDit.defaultB(steps), nc = CachePolicy.DeltaDit.defaultCachedBlocks(depth);
        for (String raw : spec.split(",")) {
            String n = raw.trim().toLowerCase(Locale.ROOT);
            CompareRow r;
            if (n.contains("@")) r = budgeted(raw.trim(), n, steps, b, c, branches);
            else if (n.equals("full")) r = full(steps);
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

    /**
     * A row at a MAC budget: {@code delta-dit@X} and {@code reverse@X} solve N and N_c (paper eq. 6–7);
     * {@code shallow|middle|deep@X} (and their forecast-…) solve a Δ-Cache's interval and its number of blocks,
     * placed at the front, centre or rear of the stack.
     */
    private static CompareRow budgeted(String raw, String n, int steps, int b, ModelConfig c, int branches) {
        String kind = n.substring(0, n.indexOf('@')), x = n.substring(n.indexOf('@') + 1);
        if (c == null) throw new IllegalArgumentException("--rows: '" + raw + "': a budget row needs the model's config");
        double speedup;
        try {
            speedup = Double.parseDouble(x);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--rows: '" + raw + "': the budget after @ is a MAC speedup such as 2 or 2.5");
        }
        if (!(speedup >= 1 && speedup <= 100)) throw new IllegalArgumentException("--rows: '" + raw + "': a MAC speedup from 1 to 100");
        int depth = c.depth();
        String at = String.format(Locale.ROOT, " @ %.2f×", speedup);
        try {
            switch (kind) {
                case "delta-dit", "reverse" -> {
                    CachePolicy.DeltaDit p = org.deltadit.cache.BudgetSolver.solve(speedup, steps, b, kind.equals("reverse"), c, branches);
                    return new CompareRow(n, (p.reverse() ? "Δ-DiT reversed" : "Δ-DiT") + at + " (b = " + b + ", N = " + p.interval() + ", N_c = " + p.cachedBlocks() + ")", steps, p);
                }
                case "shallow", "middle", "deep", "forecast-shallow", "forecast-middle", "forecast-deep" -> {
                    boolean forecast = kind.startsWith("forecast-");
                    String place = forecast ? kind.substring(9) : kind;
                    CachePolicy p = org.deltadit.cache.BudgetSolver.<CachePolicy>solve(speedup, steps, c, branches, (interval, blocks) -> {
                        if (blocks == 0) return new CachePolicy.None();
                        int[] r = CacheSpec.span(place, blocks, depth);
                        return forecast ? new CachePolicy.Forecast(r[0], r[1], interval) : new CachePolicy.DeltaCache(r[0], r[1], interval);
                    });
                    return new CompareRow(n, "Δ-Cache " + (forecast ? "forecast " : "") + place + at + " (" + p.describe() + ")", steps, p);
                }
                default -> throw new IllegalArgumentException("--rows: '" + raw + "': only delta-dit, reverse, shallow, middle, deep and forecast-… take a budget");
            }
        } catch (org.deltadit.engine.InvalidParameter e) {
            throw new IllegalArgumentException("--rows: '" + raw + "': " + e.getMessage());
        }
    }

    /** A policy file (see dit generate --cache-config) as a row; errors name {@code --cache-config}. */
    public static CompareRow policyFile(Path f, int steps, ModelConfig c, double cfg) {
        if (!Files.isRegularFile(f)) throw new IllegalArgumentException("--cache-config: " + f + ": no such file");
        CachePolicy policy = PolicyFile.read(f).resolve(steps, c, cfg > 1 ? 2 : 1);
        return new CompareRow(f.getFileName().toString(), "policy " + f.getFileName() + " (" + policy.describe() + ")", steps, policy);
    }
}
