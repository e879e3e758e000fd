"""The one-step durable functions of the cold-start benchmark (B6), one per SDK, and the
bootstrap that invokes one as the Lambda runtime would."""
