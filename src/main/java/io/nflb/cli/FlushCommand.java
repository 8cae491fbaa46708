package io.nflb.cli;

import io.nflb.dataplane.Dataplane;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

@Command(name = "flush", description = "Remove nflb's chains, tables and jump rules, and nothing else.")
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
        return Main.OK;
    }
}
