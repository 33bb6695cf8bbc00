package org.deltadit.engine;

/**
 * A bad value for a named parameter of a library call (a request field, a policy component). The
 * message is "parameter: problem"; front ends rename the parameter to what their user typed (the
 * CLI maps {@code cachedBlocks} to {@code --cached-blocks}) with {@link #problem()}.
 */
public class InvalidParameter extends IllegalArgumentException {
    private final String parameter;
    private final String problem;

    public InvalidParameter(String parameter, String problem) {
        super(parameter + ": " + problem);
        this.parameter = parameter;
        this.problem = problem;
    }

    /** The parameter's library name, e.g. "cachedBlocks". */
    public String parameter() { return parameter; }

    /** What is wrong with it, without the name. */
    public String problem() { return problem; }

    /** Throws unless {@code ok}. */
    public static void require(boolean ok, String parameter, String problem) {
        if (!ok) throw new InvalidParameter(parameter, problem);
    }
}
