SELECT model.name AS model, (neuron.layer * ?) / model.n_layers AS bucket, count(*) AS n_neurons 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score AS s0 ON s0.neuron_id = neuron.id AND s0.concept_id = ? AND (s0.run_id = ? AND s0.method_id = ? OR s0.run_id = ? AND s0.method_id = ?) 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = ? AND s0.value IS NOT NULL GROUP BY model.name, (neuron.layer * ?) / model.n_layers ORDER BY model.name, (neuron.layer * ?) / model.n_layers
-- parameters: {'layer_1': 4, 'concept_id_1': 7, 'run_id_1': 2, 'method_id_1': 5, 'run_id_2': 5, 'method_id_2': 5, 'model_id_1': [1, 3], 'site_1': 'resid'}
