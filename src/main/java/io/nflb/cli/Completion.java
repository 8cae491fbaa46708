package io.nflb.cli;

import picocli.AutoComplete;
import picocli.CommandLine;

import java.util.List;

/**
 * The bash completion script: picocli's, from the same model as --help, plus names from the config for
 * `nflb backend drain|disable|enable SERVICE ADDRESS`, which picocli cannot know.
 */
final class Completion {

    /** The commands whose two arguments are a service and one of its backends. */
    static final List<String> BACKEND_ADMIN = List.of("drain", "disable", "enable");

    private Completion() {
    }

    static String bash(CommandLine root) {
        // Sourced, never run: bash-completion files carry no #! line.
        String script = AutoComplete.bash("nflb", root).replaceFirst("\\A#!.*\n", "");
        for (String verb : BACKEND_ADMIN) {
            String call = "then _picocli_nflb_backend_" + verb + "; return $?; fi";
            if (!script.contains(call)) {
                throw new IllegalStateException("picocli's completion script no longer dispatches with '" + call + "'");
            }
            script = script.replace(call, "then _nflb_backend_admin _picocli_nflb_backend_" + verb + "; return $?; fi");
        }
        return script + BACKEND_ADMIN_FUNCTION;
    }

    /**
     * Reads the words from COMP_LINE, not COMP_WORDS, which bash splits at ':' and '=' (ADDRESS:PORT,
     * --config=FILE). Options and their values go to picocli's function for the command.
     */
    private static final String BACKEND_ADMIN_FUNCTION = """

            # nflb backend drain|disable|enable SERVICE ADDRESS: the services, then that service's backends, of the
            # config given with -c (default /etc/nflb/nflb.yaml), as `nflb __complete` reads them.
            function _nflb_backend_admin() {
              local generated=$1 line=${COMP_LINE:0:COMP_POINT} cur="" words=() args=() i
              [[ $line =~ [[:space:]]$ ]] || cur=${line##*[[:space:]]}
              read -r -a words <<< "$line"
              [ -n "$cur" ] && unset 'words[${#words[@]}-1]'
              case "$cur|${words[${#words[@]}-1]}" in
                -*|*'|-c'|*'|--config'|*'|--socket') "$generated"; return $? ;;
              esac
              local config=/etc/nflb/nflb.yaml
              for ((i = 1; i < ${#words[@]}; i++)); do
                case ${words[i]} in
                  -c|--config) config=${words[i+1]}; ((i++)) ;;
                  --socket) ((i++)) ;;
                  --config=*|-c=*) config=${words[i]#*=} ;;
                  -*) ;;
                  *) args+=("${words[i]}") ;;
                esac
              done
              local names
              case ${#args[@]} in
                2) names=$("${words[0]}" __complete services -c "$config" 2>/dev/null) ;;
                3) names=$("${words[0]}" __complete backends "${args[2]}" -c "$config" 2>/dev/null) ;;
                *) COMPREPLY=(); return 0 ;;
              esac
              local IFS=$'\\n'
              COMPREPLY=( $(compgen -W "$names" -- "$cur") )
              # bash replaces only what follows the last ':' of the word (COMP_WORDBREAKS): offer just that part.
              if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
                local before=${cur%"${cur##*:}"} k
                for k in "${!COMPREPLY[@]}"; do COMPREPLY[k]=${COMPREPLY[k]#"$before"}; done
              fi
            }
            """;
}
