SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, s0.value AS v0, s1.value AS v1 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN score AS s0 ON s0.neuron_id = neuron.id AND s0.concept_id = ? AND s0.run_id = ? AND s0.method_id = ? LEFT OUTER JOIN score AS s1 ON s1.neuron_id = neuron.id AND s1.concept_id = ? AND s1.run_id = ? AND s1.method_id = ? 
WHERE neuron.model_id = ? AND neuron.layer >= ? AND neuron.site = ? AND NOT (s0.value > ? OR s1.value > ?) ORDER BY model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'concept_id_1': 2, 'run_id_1': 5, 'method_id_1': 2, 'concept_id_2': 1, 'run_id_2': 5, 'method_id_2': 3, 'model_id_1': 3, 'layer_1': 4, 'site_1': 'mlp', 'param_1': 0.2, 'param_2': 0.2, 'param_3': 100, 'param_4': 0}
