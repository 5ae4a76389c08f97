SELECT model.name AS model, (neuron.layer * ?) / model.n_layers AS bucket, count(*) AS n_neurons, sum(CASE WHEN (s0.value > ?) THEN ? ELSE ? END) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN score AS s0 ON s0.neuron_id = neuron.id AND s0.concept_id = ? AND (s0.run_id = ? AND s0.method_id = ? OR s0.run_id = ? AND s0.method_id = ?) 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = ? GROUP BY model.name, (neuron.layer * ?) / model.n_layers ORDER BY model.name, (neuron.layer * ?) / model.n_layers
-- parameters: {'layer_1': 4, 'param_1': 0.3, 'param_2': 1, 'param_3': 0, 'concept_id_1': 2, 'run_id_1': 2, 'method_id_1': 2, 'run_id_2': 4, 'method_id_2': 2, 'model_id_1': [1, 2], 'site_1': 'mlp'}
