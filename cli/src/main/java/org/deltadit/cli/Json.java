package org.deltadit.cli;

import java.util.Locale;
import org.deltadit.cache.Plan;
import org.deltadit.cache.StepPlan;
import org.deltadit.weights.ModelConfig;

/** The JSON fragments `dit plan --json` and `dit generate --json` share (written by hand: a few flat fields). */
final class Json {
    private Json() {}

    static String num(float t) { return t == Math.rint(t) ? String.valueOf((int) t) : String.format(Locale.ROOT, "%.3f", t); }

    /** "plan":[{step, timestep, mode, range, blocks}, …] */
    static String planArray(Plan plan, float[] ts) {
        StringBuilder b = new StringBuilder("[");
        for (StepPlan p : plan.steps()) {
            b.append(p.step() > 1 ? "," : "").append(String.format(Locale.ROOT, "{\"step\":%d,\"timestep\":%s,\"mode\":\"%s\"", p.step(), num(ts[p.step() - 1]),
                    p.full() ? "full" : "cached"));
            if (!p.full()) b.append(",\"policy\":\"").append(p.mode().name().toLowerCase(Locale.ROOT)).append("\",\"range\":[").append(p.from()).append(',').append(p.to()).append(']');
            b.append(",\"blocks\":").append(p.blocksRun()).append('}');
        }
        return b.append(']').toString();
    }

    static String plan(Plan plan, float[] ts, ModelConfig c, long rows, long fullMacs) {
        long macs = plan.macs(c, rows);
        return String.format(Locale.ROOT, "{\"cache\":\"%s\",\"macs\":%d,\"macs_with_attention\":%d,\"macs_uncached\":%d,\"speedup\":%.4f,\"plan\":%s}",
                plan.policy().describe(), macs, plan.macsWithAttention(c, rows), fullMacs, fullMacs / (double) macs, planArray(plan, ts));
    }
}
