"""Run the real AWS SAM transform offline; executed by the validators venv's python.

    python sam_transform.py TEMPLATE OUT.json REGION

The translator asks IAM for the list of AWS managed policies only to expand policy *names*
given in `Policies`; that lookup is a cloud API call, so it is the one thing stubbed here (our
templates name managed policies by ARN, or not at all). Exit 1 lists the translator's errors.
"""

import json
import sys

import yaml
from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """Stands in for ManagedPolicyLoader, which would page through iam:ListPolicies."""

    def load(self) -> dict[str, str]:
        return {}


def main() -> int:
    template_path, out_path = sys.argv[1], sys.argv[2]
    with open(template_path) as stream:
        template = yaml.safe_load(stream)
    try:
        transformed = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as exc:
        for cause in exc.causes:
            print(cause.message, file=sys.stderr)
        return 1
    with open(out_path, "w") as stream:
        json.dump(transformed, stream, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
