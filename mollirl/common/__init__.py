"""What every algorithm and env plugin shares: the algorithm contract
(:mod:`~mollirl.common.algorithm`), env plugins and VecEnvs (:mod:`~mollirl.common.env_util`),
plugin records (:mod:`~mollirl.common.plugins`), counter-based seeding, returns-to-go
and the REINFORCE estimator (:mod:`~mollirl.common.returns`), and errors.

Importing this package imports nothing heavy; import the modules you need.
"""
