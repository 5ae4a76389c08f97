SELECT model.name AS model, (neuron.layer * ?) / model.n_layers AS bucket, count(*) AS n_neurons, sum(CASE WHEN (atlas_value(s0.vals, neuron.unit % ?) > ?) THEN ? ELSE ? END) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = ? GROUP BY model.name, (neuron.layer * ?) / model.n_layers ORDER BY model.name, (neuron.layer * ?) / model.n_layers
-- parameters: {'layer_1': 4, 'unit_1': 256, 'param_1': 0.30000001192092896, 'param_2': 1, 'param_3': 0, 'set_id_1': [11, 155], 'unit_2': 256, 'model_id_1': [1, 2], 'site_1': 'mlp'}
-- score sets read:
-- iou(noun) of bert: run 2, method row 2 {}
-- iou(noun) of gpt2: run 4, method row 2 {}
