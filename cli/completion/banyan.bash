# bash completion for banyan. Use it with:  source cli/completion/banyan.bash
# (or copy it to /etc/bash_completion.d/banyan). Route ids come from the live proxy, asked with the
# same --admin and --token-file as the command line being completed.

_banyan_routes() {
  local args=() i
  for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
    case "${COMP_WORDS[i]}" in
      --admin|--token-file) args+=("${COMP_WORDS[i]}" "${COMP_WORDS[i + 1]}");;
    esac
  done
  "${COMP_WORDS[0]}" "${args[@]}" --output json routes 2>/dev/null | grep -o '"id":"[^"]*"' | cut -d'"' -f4
}

_banyan() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local globals="--admin --token-file --output --as --help"
  case "$prev" in
    --output)
      # `shadow report --output FILE` writes a file; elsewhere --output is text or json.
      if [[ " ${COMP_WORDS[*]} " == *" shadow "* ]]; then COMPREPLY=($(compgen -f -- "$cur"))
      else COMPREPLY=($(compgen -W "text json" -- "$cur")); fi
      return;;
    --format) COMPREPLY=($(compgen -W "text json html junit" -- "$cur")); return;;
    --route) COMPREPLY=($(compgen -W "$(_banyan_routes)" -- "$cur")); return;;
    --token-file) COMPREPLY=($(compgen -f -- "$cur")); return;;
    --admin|--as|--reason|--percent|--limit|--after|--stage|--to|--since|--min-parity|--window|--min-compared|--interval|\
    --path|--method|--service|--url|--canary-key|--sample|--ignore|--version-field|--tolerance|--users|--timeout)
      COMPREPLY=(); return;;
    --mode) COMPREPLY=($(compgen -W "monolith shadow canary service" -- "$cur")); return;;
    --writes) COMPREPLY=($(compgen -W "skip dry-run" -- "$cur")); return;;
    --consistent) COMPREPLY=($(compgen -W "true false" -- "$cur")); return;;
    --plan) COMPREPLY=($(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -S / -- "$cur")); return;;
  esac
  # The words so far that are not options: verb, sub-verb, arguments.
  local words=() i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      --admin|--token-file|--output|--as|--reason|--percent|--limit|--after|--stage|--to|--format|--route|--since|\
      --min-parity|--window|--min-compared|--interval|--path|--method|--service|--url|--mode|--canary-key|--sample|\
      --consistent|--writes|--ignore|--version-field|--tolerance|--users|--timeout|--plan) ((i++));;
      -*) ;;
      *) words+=("${COMP_WORDS[i]}");;
    esac
  done
  local verb=${words[0]-} sub=${words[1]-}
  case "$verb" in
    "") COMPREPLY=($(compgen -W "plan routes route audit shadow demo $globals" -- "$cur"));;
    plan)
      case "$sub" in
        "") COMPREPLY=($(compgen -W "validate diff apply status advance rollback --help" -- "$cur"));;
        status) COMPREPLY=($(compgen -W "--help" -- "$cur"));;
        advance) COMPREPLY=($(compgen -W "--watch --interval --reason --help" -- "$cur"));;
        validate) COMPREPLY=($(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -S / -- "$cur"));;
        diff|apply)
          if [[ "$cur" == -* ]]; then
            local opts="--stage --help"
            [ "$sub" = apply ] && opts="--stage --reason --force --help"
            COMPREPLY=($(compgen -W "$opts" -- "$cur"))
          else COMPREPLY=($(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -S / -- "$cur")); fi;;
        rollback) COMPREPLY=($(compgen -W "--to --reason --help" -- "$cur"));;
      esac;;
    route)
      case "$sub" in
        "") COMPREPLY=($(compgen -W "set add edit remove --help" -- "$cur"));;
        add|edit)
          if [[ "$cur" == -* ]]; then
            COMPREPLY=($(compgen -W "--path --method --service --url --mode --percent --canary-key --sample --consistent
                                     --writes --ignore --version-field --tolerance --reason --help" -- "$cur"))
          elif [ "$sub" = edit ] && [ ${#words[@]} -eq 2 ]; then COMPREPLY=($(compgen -W "$(_banyan_routes)" -- "$cur")); fi;;
        remove)
          if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "--reason --help" -- "$cur"))
          elif [ ${#words[@]} -eq 2 ]; then COMPREPLY=($(compgen -W "$(_banyan_routes)" -- "$cur")); fi;;
        set)
          if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "--percent --reason --help" -- "$cur"))
          elif [ ${#words[@]} -eq 2 ]; then COMPREPLY=($(compgen -W "$(_banyan_routes)" -- "$cur"))
          # ROUTE... MODE: more routes, or the mode that ends the list.
          else COMPREPLY=($(compgen -W "$(_banyan_routes) monolith shadow canary service" -- "$cur")); fi;;
      esac;;
    audit) COMPREPLY=($(compgen -W "--after --limit --help" -- "$cur"));;
    shadow)
      case "$sub" in
        "") COMPREPLY=($(compgen -W "report --help" -- "$cur"));;
        report) COMPREPLY=($(compgen -W "--route --since --format --output --min-parity --window --min-compared --help" -- "$cur"));;
      esac;;
    routes) COMPREPLY=($(compgen -W "--help" -- "$cur"));;
    demo) COMPREPLY=($(compgen -W "--keep-running --keep-files --users --timeout --plan --help" -- "$cur"));;
  esac
}
complete -F _banyan banyan
