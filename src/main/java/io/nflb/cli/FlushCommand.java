package io.nflb.cli;

import io.nflb.daemon.Dataplane;
import io.nflb.daemon.Dataplanes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

@Command(name = "flush", description = "Remove nflb's chains, tables and jump rules, and nothing else.")
final class FlushCommand implements Callable<Integer> {

    @Mixin
    NetnsOption netns;

    @Override
    public Integer call() {
        for (Dataplane dp : Dataplanes.all(netns.exec())) {
            System.out.println(dp.flush().summary());
        }
        return Main.OK;
    }
}
