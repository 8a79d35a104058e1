#!/usr/bin/env bash
# Drives the bash completion function as bash would, word by word.
set -u
source "$1"
passed=0; failed=0
expect() {  # expect "WORDS..." "EXPECTED COMPLETIONS"
  local line=$1 want=$2
  read -r -a COMP_WORDS <<< "$line"
  [[ "$line" == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _banyan
  local got="${COMPREPLY[*]}"
  if [ "$got" = "$want" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "'$line' → '$got', want '$want'"; fi
}
expect "banyan pl" "plan"
expect "banyan " "plan routes route audit shadow demo --admin --token-file --output --as --help"
expect "banyan --output j" "json"
expect "banyan --output json pl" "plan"
expect "banyan plan v" "validate"
expect "banyan plan r" "rollback"
expect "banyan plan a" "apply advance"
expect "banyan plan advance --w" "--watch"
expect "banyan plan apply x.yaml --f" "--force"
expect "banyan plan diff x.yaml --st" "--stage"
expect "banyan route s" "set"
expect "banyan route e" "edit"
expect "banyan route add r1 --path /x --v" "--version-field"
expect "banyan route add r1 --mode " "monolith shadow canary service"
expect "banyan route edit r1 --writes d" "dry-run"
expect "banyan route remove r1 --r" "--reason"
expect "banyan demo --k" "--keep-running --keep-files"
expect "banyan route set --admin http://127.0.0.1:1 product-detail ca" "canary"
expect "banyan route set r1 canary --p" "--percent"
expect "banyan audit --l" "--limit"
expect "banyan shadow " "report --help"
expect "banyan shadow report --f" "--format"
expect "banyan shadow report --format " "text json html junit"
expect "banyan --output " "text json"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
