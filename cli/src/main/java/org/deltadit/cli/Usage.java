package org.deltadit.cli;

import picocli.CommandLine;

/** A command that needs a subcommand and got none: its usage on stderr and status 2 (bad input), not 0. */
final class Usage {
    private Usage() {}

    static int missingSubcommand(CommandLine cl) {
        cl.getErr().println("dit: " + cl.getCommandName() + " needs a subcommand (" + String.join(", ", cl.getSubcommands().keySet()) + ")");
        cl.usage(cl.getErr());
        return 2;
    }
}
