package io.nflb.cli;

import io.nflb.dataplane.Dataplane;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

@Command(name = "flush", description = "Remove nflb's chains, tables and jump rules (and a two-router hold), and nothing else.")
final class FlushCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Mixin
    NetnsOption netns;

    @Override
    public Integer call() {
        for (Dataplane dp : main.dataplanes.all(netns.exec())) {
            System.out.println(dp.flush().summary());
        }
        // A router of a pair that leaves for good must not keep dropping traffic to the service addresses.
        if (io.nflb.host.Tools.has("nft")) {
            io.nflb.dataplane.HaHold hold = io.nflb.dataplane.Dataplanes.hold(netns.exec());
            if (hold.held()) {
                hold.release();
                System.out.println("ha: hold removed");
            }
        }
        return Main.OK;
    }
}
