#!/usr/bin/env bash
# Creates the Secrets infra/k8s/overlays/prod reads, in the namespace `ticketing` of the current kube context:
#   jwt-key     JWT_KEY                signs and verifies session tokens (all services)   random
#   stripe      STRIPE_SECRET_KEY      payments' Stripe key                                from $STRIPE_SECRET_KEY
#   nats-users  auth tickets orders    one NATS password per service, and admin for       random
#               payments expiration    operators (the NATS servers read them all)
#               notifications admin
#   nats-jetstream  key                 encrypts the JetStream store at rest (chachapoly)  random
# A Secret that already exists is left alone: re-running never rotates a key by accident (infra/README.md
# explains rotation). Needs kubectl and openssl.
#   STRIPE_SECRET_KEY=sk_live_... bash infra/scripts/create-prod-secrets.sh
set -euo pipefail

namespace=${NAMESPACE:-ticketing}
here=$(cd "$(dirname "$0")" && pwd)

random() { openssl rand -hex 32; }

exists() { kubectl -n "$namespace" get secret "$1" >/dev/null 2>&1; }

# The namespace is part of the overlay; create it first so the Secrets have somewhere to go.
kubectl apply -f "$here/../k8s/overlays/prod/namespace.yaml"

if exists jwt-key; then echo "jwt-key: exists, kept"; else
  kubectl -n "$namespace" create secret generic jwt-key --from-literal=JWT_KEY="$(random)"
fi

if exists stripe; then echo "stripe: exists, kept"; else
  : "${STRIPE_SECRET_KEY:?set STRIPE_SECRET_KEY to the Stripe secret key (sk_live_... or sk_test_...)}"
  kubectl -n "$namespace" create secret generic stripe --from-literal=STRIPE_SECRET_KEY="$STRIPE_SECRET_KEY"
fi

if exists nats-users; then echo "nats-users: exists, kept"; else
  kubectl -n "$namespace" create secret generic nats-users \
    --from-literal=auth="$(random)" \
    --from-literal=tickets="$(random)" \
    --from-literal=orders="$(random)" \
    --from-literal=payments="$(random)" \
    --from-literal=expiration="$(random)" \
    --from-literal=notifications="$(random)" \
    --from-literal=admin="$(random)"
fi

if exists nats-jetstream; then echo "nats-jetstream: exists, kept"; else
  # Never rotated by this script: the servers cannot read a store written with another key.
  kubectl -n "$namespace" create secret generic nats-jetstream --from-literal=key="$(random)"
fi
