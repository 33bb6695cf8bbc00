package org.deltadit.pipeline;

import java.util.Map;
import org.deltadit.engine.InvalidParameter;

/**
 * The command-line flag of a library parameter, so a library message ("cachedBlocks: 30 outside …")
 * reaches the user as the flag they typed ("--cached-blocks: 30 outside …"). Parameters map to their
 * kebab-case flag unless the table below says otherwise; JVM properties (dit.threads) stay as they are.
 */
public final class Flags {
    private Flags() {}

    private static final Map<String, String> SPECIAL = Map.of("classes", "--class", "prompts", "--prompt", "gate", "--gate-step",
            "block", "--cached-blocks", "decode", "--out", "thresholding", "--dynamic-thresholding");

    public static String of(String parameter) { return of(parameter, Map.of()); }

    /** The flag of {@code parameter}, {@code own} first (a front end's own names, e.g. prompts → --prompts). */
    public static String of(String parameter, Map<String, String> own) {
        if (own.containsKey(parameter)) return own.get(parameter);
        if (parameter.startsWith("dit.")) return "-D" + parameter;
        if (parameter.contains(": ")) return parameter; // a field of a policy file: "FILE: kind"
        String s = SPECIAL.get(parameter);
        return s != null ? s : "--" + parameter.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
    }

    /** The message with the parameter named as a flag. */
    public static String message(InvalidParameter e) { return of(e.parameter()) + ": " + e.problem(); }

    public static String message(InvalidParameter e, Map<String, String> own) { return of(e.parameter(), own) + ": " + e.problem(); }
}
